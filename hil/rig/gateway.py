"""The real gateway (`hallvote gateway run`) as a child process: hall.toml, start, SIGKILL, restart, API calls.

Every role gets a bearer token and a console password, printed by the demo
and used by the scenario runner (the chair opens and closes, the clerk adds
motions).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.console.auth import hash_password
from hil.rig.broker import AnyBroker

__all__ = ["ROLES", "Credentials", "GatewayProcess", "write_hall_toml"]

ROLES = ("chair", "clerk", "technician", "display")
NAMES = {
    "chair": "主任 / chair",
    "clerk": "秘书长 / clerk",
    "technician": "技术员 / technician",
    "display": "大屏 / display",
}
WAIT = 60.0


class Credentials:
    """A fresh token and password per role (kept in memory; only their hashes go to hall.toml)."""

    def __init__(self) -> None:
        self.tokens = {role: f"{role}-{secrets.token_hex(8)}" for role in ROLES}
        self.passwords = {role: f"{role}-{secrets.token_hex(4)}" for role in ROLES}


def write_hall_toml(
    path: Path,
    *,
    hall: str,
    database_url: str,
    broker: AnyBroker,
    api_port: int,
    creds: Credentials,
    control: bool = False,
) -> Path:
    """hall.toml for the rig; with ``control`` the gateway gets the broker's ``_control`` account, as
    ``hallvote init`` sets it up, and so disables revoked keypads on the broker."""
    users = "".join(
        f'[[users]]\nname = "{NAMES[role]}"\nrole = "{role}"\n'
        f'token_sha256 = "{hashlib.sha256(creds.tokens[role].encode()).hexdigest()}"\n'
        f'password_argon2 = "{hash_password(creds.passwords[role])}"\n\n'
        for role in ROLES
    )
    acct = broker.gateway_account
    control_line = ""
    if control:
        secret = path.with_name("broker-control.pass")
        secret.write_text(broker.password("_control") + "\n", encoding="utf-8")
        secret.chmod(0o600)
        control_line = f'control_password_file = "{secret}"\n'
    path.write_text(
        f'hall_id = "{hall}"\ndatabase_url = "{database_url}"\ntime_zone = "Asia/Shanghai"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {broker.local_port}\nusername = "{acct.username}"\n'
        f'password = "{acct.password}"\n{control_line}\n[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n{users}',
        encoding="utf-8",
    )
    return path


class GatewayProcess:
    """``hallvote gateway run --config hall.toml``; output appended to ``log``."""

    def __init__(self, config: Path, api_port: int, log: Path, creds: Credentials) -> None:
        self.config = config
        self.api_port = api_port
        self.log = log
        self.creds = creds
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        exe = Path(sys.executable).with_name("hallvote")
        self.cmd = [str(exe) if exe.exists() else "hallvote", "gateway", "run", "--config", str(config)]
        self.http = httpx.Client(timeout=WAIT)
        self.store_retries = 0  # API calls answered 503 STORE_UNAVAILABLE and retried (call)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get(self.base + "/api/v1/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gateway API did not come up: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(WAIT)
            self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        self.stop()
        self.http.close()

    def api(self, method: str, path: str, role: str = "chair", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.creds.tokens[role]}"}
        return self.http.request(method, f"{self.base}/api/v1{path}", headers=headers, **kw)

    def call(self, method: str, path: str, role: str = "chair", **kw: Any) -> Any:
        """An API call that must succeed; retried while the gateway restarts, and, as a clerk would,
        while it answers 503 STORE_UNAVAILABLE (the store is away: nothing changed, retry shortly;
        counted in ``store_retries``)."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                r = self.api(method, path, role, **kw)
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            if r.status_code == 503 and "STORE_UNAVAILABLE" in r.text and time.monotonic() <= deadline:
                self.store_retries += 1
                time.sleep(0.2)
                continue
            if r.status_code >= 400:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
            return r.json() if r.content else None
