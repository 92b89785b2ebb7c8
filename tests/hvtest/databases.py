"""Fresh databases for tests: every test that asks for ``db_url`` runs twice, on SQLite and PostgreSQL.

* SQLite: a new file in the test's ``tmp_path``.
* PostgreSQL: ``CREATE DATABASE hallvote_test_<random>`` on the server at
  ``HALLVOTE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
  a database the fixture only connects to), dropped ``WITH (FORCE)`` after
  the test.  An unreachable server skips the PostgreSQL half, or fails it
  under ``HALLVOTE_REQUIRE_ALL=1`` (:func:`hvtest.tools.missing`).

Fixtures: ``db_url`` (a URL string), ``engine`` (:func:`gateway.db.make_engine`
+ :func:`gateway.db.init_db`, disposed after the test), ``session``, and
``hall_setup`` (a small body, hall and sitting to work in, :class:`HallSetup`).
Use them from a conftest.py with ``from hvtest.databases import db_url, engine, ...``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from gateway.db import crud, init_db, make_engine
from gateway.db.models import (
    Body,
    BodyCreate,
    Hall,
    HallCreate,
    Member,
    MemberCreate,
    Seat,
    SeatCreate,
    Sitting,
    SittingCreate,
)

from .tools import missing

__all__ = [
    "DEFAULT_PG",
    "HallSetup",
    "db_url",
    "engine",
    "fresh_database",
    "hall_setup",
    "make_hall_setup",
    "new_public_key",
    "pg_server_url",
    "postgres_database",
    "session",
    "sqlite_engine",
    "sqlite_url",
]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")

_unreachable: dict[str, str] = {}


def pg_server_url() -> str:
    """The maintenance URL of the test server (``HALLVOTE_TEST_PG`` or the default)."""
    return os.environ.get("HALLVOTE_TEST_PG") or DEFAULT_PG


def _libpq(url: str) -> str:
    """A SQLAlchemy URL (maybe ``postgresql+psycopg://``) as a libpq conninfo URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'hallvote.db'}"


def _admin_connection(server: str) -> psycopg.Connection[tuple[object, ...]]:
    if server in _unreachable:
        missing(_unreachable[server])
    try:
        return psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        where = make_url(server).render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {make_url(server).host}:{make_url(server).port or 5432}: {exc}"
        _unreachable[server] = reason.strip() + f" (HALLVOTE_TEST_PG={where})"
        missing(_unreachable[server])
        raise AssertionError("unreachable") from None


def postgres_database() -> Iterator[str]:
    """Create a throw-away database, yield its ``postgresql+psycopg://`` URL, drop it afterwards."""
    server = pg_server_url()
    name = f"hallvote_test_{secrets.token_hex(6)}"
    with _admin_connection(server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))
    try:
        url = make_url(server).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connection(server) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of ``backend`` ("sqlite" or "postgresql"), removed afterwards."""
    if backend == "sqlite":
        yield sqlite_url(directory)
    elif backend == "postgresql":
        yield from postgres_database()
    else:
        raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty (unmigrated) database: once SQLite, once PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh database migrated to head: once SQLite, once PostgreSQL.

    Self-contained (importing ``engine`` alone is enough); its URL is
    ``engine.url``.  Not to be combined with ``db_url`` in one test, which
    would be a second, unrelated database.
    """
    if "db_url" in request.fixturenames:
        raise pytest.UsageError("use engine.url rather than both the engine and db_url fixtures")
    with fresh_database(request.param, tmp_path) as url:
        eng = make_engine(url)
        try:
            init_db(eng)
            yield eng
        finally:
            eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite engine only, for what is SQLite's alone (pragmas, WITHOUT ROWID, the WAL file)."""
    eng = make_engine(sqlite_url(tmp_path))
    try:
        init_db(eng)
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def new_public_key() -> bytes:
    """A fresh P-256 public key, 65 bytes uncompressed SEC1, as a keypad would register."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@dataclass
class HallSetup:
    body: Body
    hall: Hall
    seats: list[Seat]
    members: list[Member]
    sitting: Sitting


def make_hall_setup(session: Session) -> HallSetup:
    """A town congress of three, hall ``hall-1`` with seats A1 A2 A3 in row 1, and a plenary sitting."""
    body = crud.create_body(session=session, body_in=BodyCreate(name="某镇人民代表大会", kind="congress"))
    hall = crud.create_hall(session=session, hall_in=HallCreate(id="hall-1", name="镇政府大会议室"))
    seats = [
        crud.create_seat(session=session, hall_id=hall.id, seat_in=SeatCreate(label=f"A{i}", row=1, col=i))
        for i in (1, 2, 3)
    ]
    assert body.id is not None
    members = [
        crud.create_member(session=session, body_id=body.id, member_in=MemberCreate(name=name))
        for name in ("张伟", "王芳", "李娜")
    ]
    sitting = crud.create_sitting(
        session=session,
        sitting_in=SittingCreate(body_id=body.id, hall_id=hall.id, kind="plenary", title="第一次全体会议"),
    )
    return HallSetup(body, hall, seats, members, sitting)


@pytest.fixture
def hall_setup(session: Session) -> HallSetup:
    return make_hall_setup(session)
