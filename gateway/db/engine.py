"""Engines for the two stores, and bringing a database's schema to head.

SQLite (the embedded default, ``sqlite:///path/to/hallvote.db``): every
connection gets

* ``journal_mode=WAL``: readers (API, console) never block the writer;
* ``synchronous=FULL``: with WAL, FULL fsyncs the log at every commit.
  NORMAL would sync only at checkpoints, so a power cut could lose the
  last transactions although they had committed, and the gateway acks a
  press only after its commit: the keypad would show "recorded" for a
  press the store no longer has, and would not retransmit it.  FULL costs
  one fsync per transaction, which the gateway's group commit amortises
  over every press that arrived meanwhile;
* ``foreign_keys=ON`` (SQLite's default is off);
* ``secure_delete=ON``: deleted rows are overwritten with zeros in the
  file, so the transient secret-ballot rows (SecretPending) deleted when a
  secret round closes do not linger in free pages;
* ``busy_timeout`` 10 s, and transactions that really begin at BEGIN
  (the sqlite3 module's legacy mode would start them only at the first
  write, so a read-validate-write sequence would not be one transaction);
* **write transactions take the write lock up front** (``BEGIN
  IMMEDIATE``) on a connection marked for writing (:func:`writer`: the
  gateway's commits, the API's non-GET requests).  SQLite has one writer;
  a transaction that began deferred, read, and then writes cannot wait for
  the lock (its snapshot may be stale, so SQLite answers ``database is
  locked`` at once, busy timeout or not).  ``BEGIN IMMEDIATE`` waits its
  turn (up to the busy timeout) instead, so concurrent writers queue
  rather than fail.  Other transactions begin deferred: readers never
  block a writer (WAL), and code that reads and then asks the gateway to
  commit does not hold the lock the gateway needs.

Every engine is created with ``hide_parameters=True``: an error message or
log line shows the SQL, never the values (a secret round's choices, device
ids) bound to it.

PostgreSQL (the production store): ``postgresql+psycopg://`` (psycopg 3);
a plain ``postgresql://`` URL is mapped to psycopg 3.

:func:`init_db` runs the Alembic migrations to head (never ``create_all``).
:func:`purge_deleted` is a maintenance tool that makes deleted rows leave
the files (SQLite: checkpoint; PostgreSQL: ``VACUUM FULL``, which locks the
tables).  The gateway does not run it at a secret close: see
gateway.store.purge (on SQLite: checkpoint, VACUUM, checkpoint) and
gateway.store.secretkeys.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "MIGRATIONS",
    "SQLITE_PRAGMAS",
    "alembic_config",
    "init_db",
    "make_engine",
    "normalize_url",
    "own_pool",
    "purge_deleted",
    "reader",
    "writer",
]

MIGRATIONS = "gateway.db:migrations"
"""Alembic ``script_location`` as a package resource: works from an installed package."""

SQLITE_PRAGMAS = (
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    ("secure_delete", "ON"),
    ("busy_timeout", "10000"),
)


def normalize_url(url: str) -> str:
    """Map ``postgresql://`` (and ``postgres://``) to the psycopg 3 driver; leave others alone."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # Hand transaction control to SQLAlchemy (the "begin" hook emits BEGIN).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        # An in-memory database cannot use WAL; a file database must.
        if mode.lower() not in ("wal", "memory"):
            raise RuntimeError(f"SQLite refused journal_mode=WAL (got {mode!r})")
    finally:
        cursor.close()


WRITE = "hallvote_write"
"""Execution option: this connection's transactions write (SQLite: ``BEGIN IMMEDIATE``)."""


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions: on SQLite they take the write lock when they begin."""
    return engine.execution_options(**{WRITE: True})


def reader(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they begin deferred (the default)."""
    return engine.execution_options(**{WRITE: False})


def own_pool(engine: Engine, size: int = 2) -> Engine:
    """An engine on the same database with its own small connection pool (the same one for in-memory SQLite)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine
    return make_engine(url.render_as_string(hide_password=False), pool_size=size, max_overflow=size)


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _create_private(database: str | None) -> None:
    """Create a missing SQLite file with mode 0600 (votes and the audit log are no one else's).

    SQLite gives its -wal and -shm files the database file's mode.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # e.g. a missing folder: SQLite reports it when it connects
    os.close(fd)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for ``url`` (SQLite or PostgreSQL) with the settings above.

    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        _create_private(make_url(url).database)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration, built in code (no alembic.ini needed).

    For the command API: ``command.revision(alembic_config(url), autogenerate=True, message=...)``.
    With ``url`` the migration environment builds its own engine with
    :func:`make_engine`; :func:`init_db` passes a connection instead.
    """
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolation: a literal % must be doubled.
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema by running the migrations."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def purge_deleted(engine: Engine, tables: tuple[str, ...] = ("secret_pending",)) -> None:
    """Make deleted rows leave the database files (maintenance; not run by the gateway per close).

    SQLite: ``secure_delete`` already zeroed the freed cells in the pages;
    a TRUNCATE checkpoint copies those pages into the main file and empties
    the WAL, where the old page images (with the choices) still were.
    PostgreSQL: ``VACUUM FULL`` rewrites ``tables`` into new files, so dead
    tuples do not stay readable in the old ones.  (PostgreSQL's own WAL
    segments keep old row images until they are recycled; see the docs.)
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # A checkpoint must run outside a transaction.
            conn.commit()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise RuntimeError("WAL checkpoint was blocked by a reader; retry when readers are done")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f'VACUUM FULL "{table}"')
