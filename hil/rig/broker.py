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

__all__ = [
    "BROKER_KINDS",
    "AnyBroker",
    "BrokerMissing",
    "BrokerStartError",
    "HallBroker",
    "MosquittoProcess",
    "free_port",
    "hall_config",
    "open_broker",
]

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


class BrokerStartError(RuntimeError):
    """Mosquitto exited at start or did not accept in time; the message has the end of its log."""


class MosquittoProcess:
    """``mosquitto -c conf``: start with a bounded wait until its ports accept, SIGTERM, SIGKILL, its log.

    Shared by the rig's :class:`HallBroker` and the tests' broker (``tests/hvtest/mosquitto.py``).
    """

    def __init__(self, exe: str, conf_path: Path, log_path: Path, cwd: Path) -> None:
        self.exe = exe
        self.conf_path = conf_path
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, ports: Iterable[int]) -> None:
        """Start; return once every port accepts (BrokerStartError after ``WAIT`` s or if it exits)."""
        ports = list(ports)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-c", str(self.conf_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.cwd
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerStartError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            if all(_accepts(p) for p in ports):
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerStartError(f"mosquitto did not accept on {ports} in {WAIT} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence database), bounded wait, then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self.proc = None


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
    hall: str
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
        self.process = MosquittoProcess(exe, self.conf_path, self.log_path, self.conf_path.parent)
        self.restarts = 0

    @property
    def gateway_account(self) -> bc.Account:
        return self.config.account(bc.GATEWAY_USER)

    def password(self, username: str) -> str:
        return self.config.account(username).password

    @property
    def running(self) -> bool:
        return self.process.running

    def start(self) -> None:
        if not self.running:
            self.process.start([self.port, self.local_port])

    def log(self) -> str:
        return self.process.log()

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1
