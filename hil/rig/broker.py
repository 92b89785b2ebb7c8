"""The rig's broker: Mosquitto from the project's generated hall configuration (TLS, accounts, ACL).

The keypads reach the TLS listener (through the impairment proxy); the
gateway uses the plain loopback listener, as on a hall server.  Without
Mosquitto, :func:`open_broker` with ``"auto"`` or ``"embedded"`` gives the
embedded Python broker (:mod:`hil.rig.embedded`) on the same generated
certificates, accounts and grants.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from gateway.broker import config as bc

__all__ = ["BROKER_KINDS", "AnyBroker", "BrokerMissing", "HallBroker", "free_port", "hall_config", "open_broker"]

BROKER_KINDS = ("auto", "mosquitto", "embedded")

HOST = "127.0.0.1"
SERVER_NAME = "localhost"
WAIT = 10.0


class BrokerMissing(RuntimeError):
    """Mosquitto is not installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def mosquitto_path() -> str | None:
    """Mosquitto's executable; ``HALLVOTE_MOSQUITTO`` names it explicitly (a missing path: none)."""
    override = os.environ.get("HALLVOTE_MOSQUITTO")
    if override is not None:
        return override if Path(override).is_file() else None
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def hall_config(
    workdir: Path, hall: str, ids: list[str], port: int, local_port: int
) -> tuple[bc.GeneratedConfig, dict[str, Path]]:
    """The hall's generated broker configuration in ``workdir/broker`` (CA, TLS certificate, accounts, ACL)."""
    settings = bc.BrokerSettings(
        hall=hall,
        port=port,
        bind=HOST,
        hosts=bc.DEFAULT_HOSTS,
        local_port=local_port,
        persistence=False,
        log_dest="stderr",
        run_as_user=getpass.getuser(),
        seats=max(bc.DEFAULT_SEATS, len(ids) + 10),
    )
    return bc.write_broker_config(workdir / "broker", settings, ids)


class AnyBroker(Protocol):
    """What the rig needs of a broker (:class:`HallBroker` or :class:`hil.rig.embedded.EmbeddedBroker`)."""

    kind: str
    host: str
    server_hostname: str
    port: int
    local_port: int
    ca_path: Path
    log_path: Path
    restarts: int

    @property
    def gateway_account(self) -> bc.Account: ...
    def password(self, username: str) -> str: ...
    @property
    def running(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def kill(self) -> None: ...
    def restart(self) -> None: ...
    def log(self) -> str: ...


def open_broker(kind: str, workdir: Path, hall: str, devices: Iterable[str]) -> AnyBroker:
    """``mosquitto`` (BrokerMissing without it), ``embedded``, or ``auto``: Mosquitto when installed."""
    if kind not in BROKER_KINDS:
        raise ValueError(f"broker must be one of {', '.join(BROKER_KINDS)}, not {kind!r}")
    if kind == "embedded" or (kind == "auto" and mosquitto_path() is None):
        from hil.rig.embedded import EmbeddedBroker

        return EmbeddedBroker(workdir, hall, devices)
    return HallBroker(workdir, hall, devices)


class HallBroker:
    """One Mosquitto process for ``hall`` with an account per device id; restartable on the same ports."""

    kind = "mosquitto"

    def __init__(self, workdir: Path, hall: str, devices: Iterable[str]) -> None:
        ids = list(devices)
        exe = mosquitto_path()
        if exe is None:
            raise BrokerMissing("mosquitto 未安装 / mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.workdir = workdir
        self.hall = hall
        self.host = HOST
        self.server_hostname = SERVER_NAME
        self.port = free_port()
        self.local_port = free_port()
        self.config, files = hall_config(workdir, hall, ids, self.port, self.local_port)
        self.conf_path = files[bc.CONF]
        self.ca_path = files[bc.CA_CERT]
        self.log_path = workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def gateway_account(self) -> bc.Account:
        return self.config.account(bc.GATEWAY_USER)

    def password(self, username: str) -> str:
        return self.config.account(username).password

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.conf_path.parent,
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-2000:]}")
            if _accepts(self.port) and _accepts(self.local_port):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"mosquitto did not accept in {WAIT} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1
