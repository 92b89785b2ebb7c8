"""The rig's broker: Mosquitto from the project's generated hall configuration (TLS, accounts, ACL).

The keypads reach the TLS listener (simulated ones through the impairment
proxy); the gateway uses the plain loopback listener, as on a hall server.
Where the TLS listener binds and which names its certificate covers come
from one :class:`KeypadListener` (loopback by default; a bench of physical
keypads gives the machine's LAN address).  Without
Mosquitto, :func:`open_broker` with ``"auto"`` or ``"embedded"`` gives the
embedded Python broker (:mod:`hil.rig.embedded`) on the same generated
certificates, accounts and grants.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.broker import config as bc
from gateway.broker.pki import subject_alt_name

__all__ = [
    "BROKER_KINDS",
    "AnyBroker",
    "BrokerMissing",
    "BrokerStartError",
    "HallBroker",
    "KeypadListener",
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


_GIVEN: set[int] = set()  # ports this process has handed out: never twice


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out as an outgoing connection's own port (Linux; else 32768)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on at ``host`` now (``0.0.0.0``: on every address).

    Picked at random below the kernel's ephemeral range (from 10000 up), so that none of the
    thousands of outgoing connections a rig makes can take it between this check and the
    server's bind, and never the same port twice in one process; when that range is too small,
    a port the kernel picks."""
    low, high = 10000, _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(100 if high - low >= 1000 else 0):
        port = rng.randrange(low, high)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class KeypadListener:
    """Where the broker's TLS listener for keypads binds, and how keypads reach it.

    ``host`` is the address keypads connect to (a physical keypad on the
    bench's Wi-Fi: this machine's LAN address); ``bind`` the address the
    listener binds (default ``host``; ``0.0.0.0`` for every IPv4 address).
    The server certificate covers ``localhost``, ``127.0.0.1`` and ``host``,
    and keypads check ``server_hostname``: ``localhost`` on loopback (as
    before), else ``host`` itself, as a hall's keypads check the broker's
    LAN address (an IP address SAN).  The gateway's plain listener stays on
    127.0.0.1 whatever this says.
    """

    host: str = HOST
    bind: str = ""  # "": host

    def __post_init__(self) -> None:
        subject_alt_name(self.host)  # an IP address or a DNS name, else InvalidSettingError
        if _unspecified(self.host):
            raise bc.InvalidSettingError(
                f"keypad host {self.host!r} is not an address keypads can reach; give this machine's LAN "
                "address (and bind='0.0.0.0' to listen on every address)"
            )
        if not self.bind:
            object.__setattr__(self, "bind", self.host)
        subject_alt_name(self.bind)  # the same for the bind address (0.0.0.0 included)

    @property
    def loopback(self) -> bool:
        return self.host in (HOST, SERVER_NAME)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The server certificate's names."""
        return bc.DEFAULT_HOSTS if self.host in bc.DEFAULT_HOSTS else (*bc.DEFAULT_HOSTS, self.host)

    @property
    def server_hostname(self) -> str:
        """The TLS name keypads check."""
        return SERVER_NAME if self.loopback else self.host

    @property
    def probe_host(self) -> str:
        """Where to check that the listener accepts: ``bind``, or 127.0.0.1 when it binds every address."""
        return HOST if _unspecified(self.bind) else self.bind


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def mosquitto_path() -> str | None:
    """Mosquitto's executable; ``HALLVOTE_MOSQUITTO`` names it explicitly (a missing path: none)."""
    override = os.environ.get("HALLVOTE_MOSQUITTO")
    if override is not None:
        return override if Path(override).is_file() else None
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _accepts(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
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

    def start(self, ports: Iterable[int | tuple[str, int]]) -> None:
        """Start; return once every port accepts (BrokerStartError after ``WAIT`` s or if it exits).

        A port is a number (on 127.0.0.1) or a ``(host, port)`` pair."""
        ends = [(HOST, p) if isinstance(p, int) else p for p in ports]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-c", str(self.conf_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.cwd
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerStartError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            if all(_accepts(p, h) for h, p in ends):
                return
            time.sleep(0.02)
        self.kill()
        raise BrokerStartError(f"mosquitto did not accept on {ends} in {WAIT} s:\n{self.log()[-3000:]}")

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
    workdir: Path,
    hall: str,
    ids: list[str],
    port: int,
    local_port: int,
    listener: KeypadListener | None = None,
) -> tuple[bc.GeneratedConfig, dict[str, Path]]:
    """The hall's generated broker configuration in ``workdir/broker`` (CA, TLS certificate, accounts, ACL).

    The keypads' TLS listener binds ``listener.bind`` and the certificate covers ``listener.hosts``."""
    listener = listener or KeypadListener()
    settings = bc.BrokerSettings(
        hall=hall,
        port=port,
        bind=listener.bind,
        hosts=listener.hosts,
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


def open_broker(
    kind: str, workdir: Path, hall: str, devices: Iterable[str], listener: KeypadListener | None = None
) -> AnyBroker:
    """``mosquitto`` (BrokerMissing without it), ``embedded``, or ``auto``: Mosquitto when installed."""
    if kind not in BROKER_KINDS:
        raise ValueError(f"broker must be one of {', '.join(BROKER_KINDS)}, not {kind!r}")
    if kind == "embedded" or (kind == "auto" and mosquitto_path() is None):
        from hil.rig.embedded import EmbeddedBroker

        return EmbeddedBroker(workdir, hall, devices, listener)
    return HallBroker(workdir, hall, devices, listener)


class HallBroker:
    """One Mosquitto process for ``hall`` with an account per device id; restartable on the same ports."""

    kind = "mosquitto"

    def __init__(
        self, workdir: Path, hall: str, devices: Iterable[str], listener: KeypadListener | None = None
    ) -> None:
        ids = list(devices)
        exe = mosquitto_path()
        if exe is None:
            raise BrokerMissing("mosquitto 未安装 / mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.workdir = workdir
        self.hall = hall
        self.listener = listener or KeypadListener()
        self.host = self.listener.host
        self.server_hostname = self.listener.server_hostname
        self.port = free_port(self.listener.bind)
        self.local_port = free_port()
        self.config, files = hall_config(workdir, hall, ids, self.port, self.local_port, self.listener)
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
            self.process.start([(self.listener.probe_host, self.port), self.local_port])

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
