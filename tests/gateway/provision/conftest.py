"""Provisioning against simulated keypads on serial lines, and a hall on SQLite and PostgreSQL.

* ``build`` / ``old_build``: real ``hallvote firmware build`` folders (no
  glyph table, so no font is needed); the old one says firmware 0.0.9.
* ``boards``: start simulated keypads (:mod:`hvtest.replboards`, ``replboard.mjs``: the MicroPython
  WebAssembly port's own REPL behind the master side of a pty); mpremote
  opens the slave side, ``/dev/pts/N``, as it would ``/dev/ttyUSB0``.
  ``boards.silent()`` is a pty with nothing behind it.
* ``hall``: a seeded hall (congress of 3 at seats A-1..A-3 with keypads
  kp-1..kp-3, free seats B-1..B-3), a broker configuration with accounts
  kp-101..kp-103, ``hall.toml`` and ``keypad.toml``; ``hall.invoke(...)``
  runs the ``hallvote`` CLI in-process.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hvtest.databases import engine  # noqa: F401  (the fixture, on SQLite and PostgreSQL)
from hvtest.micropython import need_mpy_cross
from hvtest.replboards import Boards
from hvtest.seed import SeededHall, seed_hall
from hvtest.tools import REPO
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner, Result

from gateway.broker import config as bc
from gateway.cli import app
from gateway.db import crud
from gateway.db.models import SeatCreate

DEVICE_ACCOUNTS = ("kp-101", "kp-102", "kp-103")
WIFI_PASSWORD = "wifi-secret-5e2b"


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_mpy_cross()
    from gateway.firmware_image import build as fb

    out = tmp_path_factory.mktemp("fw") / "build"
    fb.build(out, glyphs=False)
    return out


@pytest.fixture(scope="session")
def old_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the same sources that says it is firmware 0.0.9."""
    need_mpy_cross()
    from gateway.firmware_image import build as fb

    root = tmp_path_factory.mktemp("oldsrc")
    for folder in ("firmware", "protocol"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    version = root / "firmware" / "version.py"
    version.write_text(version.read_text().replace("VERSION = (0, 1, 0)", "VERSION = (0, 0, 9)"))
    assert "(0, 0, 9)" in version.read_text(), "firmware/version.py changed shape; adjust old_build"
    out = tmp_path_factory.mktemp("fw-old") / "build"
    fb.build(out, glyphs=False, root=root)
    return out


@pytest.fixture
def boards() -> Iterator[Boards]:
    b = Boards()
    try:
        yield b
    finally:
        b.stop()


@dataclass
class HallFiles:
    engine: Engine
    seeded: SeededHall
    dir: Path
    config: Path
    broker_dir: Path
    build: Path
    api_port: int
    free_seats: dict[str, int] = field(default_factory=dict)

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        started = time.monotonic()
        result = runner.invoke(app, list(args), env={"COLUMNS": "200", "HALLVOTE_TOKEN": "", **(env or {})})
        result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
        return result

    def provision(self, port: str, *args: str) -> Result:
        return self.invoke(
            "provision",
            "--port",
            port,
            "--config",
            str(self.config),
            "--build",
            str(self.build),
            "--by",
            "wang",
            "--timeout",
            "5",
            *args,
        )

    def credentials(self) -> dict[str, str]:
        return bc.parse_credentials_csv((self.broker_dir / bc.CREDENTIALS).read_text())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_hall_toml(path: Path, *, hall_id: str, database_url: str, api_port: int, users: str = "") -> None:
    path.write_text(
        f'hall_id = "{hall_id}"\n'
        f'database_url = "{database_url}"\n\n'
        '[broker]\nhost = "127.0.0.1"\npassword = "gateway-password-1"\n\n'
        f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n{users}',
        encoding="utf-8",
    )


@pytest.fixture
def hall(engine: Engine, tmp_path: Path, build: Path) -> HallFiles:  # noqa: F811
    seeded = seed_hall(engine, members=3)
    free = {}
    with Session(engine) as session:
        for i in (1, 2, 3):
            seat = crud.create_seat(
                session=session, hall_id=seeded.hall_id, seat_in=SeatCreate(label=f"B-{i}", row=2, col=i)
            )
            assert seat.id is not None
            free[seat.label] = seat.id
    broker_dir = tmp_path / "broker"
    bc.write_broker_config(broker_dir, bc.BrokerSettings(hall=seeded.hall_id), list(DEVICE_ACCOUNTS))
    (tmp_path / "wifi.pass").write_text(WIFI_PASSWORD + "\n")
    (tmp_path / "keypad.toml").write_text(
        'wifi_ssid = "hall-keypads"\nwifi_password_file = "wifi.pass"\n'
        'broker_host = "192.168.10.2"\nbroker_port = 8883\ncredentials = "broker/credentials.csv"\n',
        encoding="utf-8",
    )
    config = tmp_path / "hall.toml"
    api_port = _free_port()  # nothing listens: the gateway is not running
    write_hall_toml(
        config,
        hall_id=seeded.hall_id,
        database_url=engine.url.render_as_string(hide_password=False),
        api_port=api_port,
    )
    return HallFiles(engine, seeded, tmp_path, config, broker_dir, build, api_port, free)
