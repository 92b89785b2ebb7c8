"""The benchmark's stage: the hall's generated Mosquitto, a seeded database and `hallvote gateway run`.

Everything is real and lives in one working directory:

* the broker configuration comes from :func:`gateway.broker.config.write_broker_config`
  for a hall of N seats (TLS listener for the keypads, the loopback
  listener for the gateway, one account per keypad, limits from
  :func:`gateway.broker.limits.limits_for`).  The bench adds only what it
  needs to watch the broker: a read-only ``_bench`` account for ``$SYS``
  and ``sys_interval 1``;
* the database (SQLite file, or a fresh PostgreSQL database dropped
  afterwards) is brought to the current schema and seeded with a body of N
  members, N seats and N keypads (their public keys) and a sitting;
* the gateway and the echo run as their own processes; :class:`Proc`
  reads their CPU time and peak RSS from ``/proc``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.broker import config as bc
from hil.rig.broker import free_port

__all__ = ["BENCH_USER", "TOKENS", "Broker", "Proc", "Seeded", "free_port", "seed", "write_hall_toml"]

BENCH_USER = "_bench"
TOKENS = {
    "chair": "bench-chair-token-0001",
    "clerk": "bench-clerk-token-0001",
    "display": "bench-display-token-01",
}
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class Proc:
    """A child process with its CPU seconds (user + system) and peak RSS (VmHWM) from /proc."""

    def __init__(self, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.cmd = cmd
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu_done = 0.0  # CPU of earlier incarnations (after a restart)
        self.peak_rss = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})},
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu(self) -> float:
        """CPU seconds used so far by every incarnation (the live one read from /proc)."""
        return self.cpu_done + self._cpu_now()

    def _cpu_now(self) -> float:
        if not self.alive():
            return 0.0
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def rss_peak(self) -> int:
        """Peak resident set size in bytes over every incarnation."""
        if self.alive():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        return self.peak_rss

    def _account(self) -> None:
        self.rss_peak()
        self.cpu_done += self._cpu_now()

    def signal(self, sig: int, timeout: float = 30.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self._account()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)


@dataclass
class Broker:
    """The hall's generated Mosquitto configuration, with the bench's $SYS reader, as a process."""

    workdir: Path
    hall: str
    devices: list[str]
    seats: int
    dynsec: bool = False
    port: int = field(default_factory=free_port)
    local_port: int = field(default_factory=free_port)
    config: Any = None
    files: dict[str, Path] = field(default_factory=dict)
    bench_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    proc: Proc | None = None

    def write(self) -> None:
        confdir = self.workdir / "broker"
        settings = bc.BrokerSettings(
            hall=self.hall,
            port=self.port,
            bind="127.0.0.1",
            local_port=self.local_port,
            log_dest="stderr",
            run_as_user=getpass.getuser(),
            seats=self.seats,
            dynsec=self.dynsec,
        )
        self.config, self.files = bc.write_broker_config(confdir, settings, self.devices)
        conf = self.files[bc.CONF]
        conf.write_text(
            conf.read_text() + "\n# Added by hallvote bench: $SYS counters every second.\nsys_interval 1\n"
        )
        if not self.dynsec:
            pw = self.files[bc.PASSWORD_FILE]
            pw.write_text(pw.read_text() + f"{BENCH_USER}:{bc.hash_password(self.bench_password)}\n")
            acl = self.files[bc.ACL_FILE]
            acl.write_text(acl.read_text() + f"\nuser {BENCH_USER}\ntopic read $SYS/#\n")

    def password(self, username: str) -> str:
        return str(self.config.account(username).password)

    @property
    def ca_file(self) -> str:
        return str(self.files[bc.CA_CERT])

    def start(self) -> None:
        if self.proc is None:
            exe = next(
                (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
                "mosquitto",
            )
            self.proc = Proc([exe, "-c", str(self.files[bc.CONF])], self.workdir / "mosquitto.log")
        self.proc.start()
        for _ in range(500):
            if not self.proc.alive():
                raise RuntimeError(f"mosquitto exited: {self.proc.log.read_text(errors='replace')[-2000:]}")
            if _accepts(self.port) and _accepts(self.local_port):
                return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start accepting")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Seeded:
    sitting_id: int
    members: int


def seed(database_url: str, hall: str, keys: dict[str, bytes]) -> Seeded:
    """A body of len(keys) members in seats A-1.., keypads bound to them, a sitting in setup."""
    from sqlmodel import Session

    from gateway.db import init_db, make_engine
    from gateway.db import models as m

    engine = make_engine(database_url)
    try:
        init_db(engine)
        with Session(engine) as s:
            s.add(m.Hall(id=hall, name="基准测试会场 / benchmark hall"))
            body = m.Body.model_validate(
                m.BodyCreate.model_validate(
                    {
                        "name": "基准测试人民代表大会",
                        "kind": m.BodyKind.CONGRESS,
                        "readerless_checkin_allowed": True,
                    }
                )
            )
            s.add(body)
            s.flush()
            assert body.id is not None
            n = len(keys)
            members = [m.Member(body_id=body.id, name=f"代表{i:04d}") for i in range(1, n + 1)]
            seats = [
                m.Seat(hall_id=hall, label=f"A-{i}", row=1 + (i - 1) // 50, col=1 + (i - 1) % 50)
                for i in range(1, n + 1)
            ]
            s.add_all([*members, *seats])
            s.flush()
            for (dev, pub), seat in zip(keys.items(), seats, strict=True):
                s.add(
                    m.Device(
                        device_id=dev, hall_id=hall, public_key=pub, broker_username=dev, seat_id=seat.id
                    )
                )
            sitting = m.Sitting(
                body_id=body.id, hall_id=hall, kind=m.SittingKind.PLENARY, title="基准测试全体会议"
            )
            s.add(sitting)
            s.flush()
            assert sitting.id is not None
            for seat, member in zip(seats, members, strict=True):
                assert seat.id is not None and member.id is not None
                s.add(m.SeatAssignment(sitting_id=sitting.id, seat_id=seat.id, member_id=member.id))
            s.commit()
            assert sitting.id is not None
            return Seeded(sitting.id, n)
    finally:
        engine.dispose()


def write_hall_toml(path: Path, *, hall: str, database_url: str, broker: Broker, api_port: int) -> Path:
    import hashlib

    users = "\n".join(
        f'[[users]]\nname = "{role}"\nrole = "{role}"\ntoken_sha256 = "{hashlib.sha256(tok.encode()).hexdigest()}"\n'
        for role, tok in TOKENS.items()
    )
    path.write_text(
        f'hall_id = "{hall}"\ndatabase_url = "{database_url}"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {broker.local_port}\nusername = "{bc.GATEWAY_USER}"\n'
        f'password = "{broker.password(bc.GATEWAY_USER)}"\n\n'
        f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n{users}',
        encoding="utf-8",
    )
    return path


def hallvote_exe() -> list[str]:
    exe = Path(sys.executable).with_name("hallvote")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway.cli"]
