"""The console under test: a real gateway process, real Mosquitto, keypads, and Debian's Chromium.

``hall_with_console`` starts everything for one test; ``Chromium`` drives
``/usr/bin/chromium`` through Playwright (``executable_path``: nothing is
downloaded).  Every user has a console password (``PASSWORDS``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from gateway.console.auth import hash_password
from gateway.db import init_db, make_engine
from protocol import consts, topics

from .databases import fresh_database
from .gatewayproc import GatewayProcess, SimKeypad, free_port, wait_for
from .mosquitto import MosquittoBroker, running_broker
from .seed import SeededHall, seed_hall
from .tools import missing

HALL = "county-hall"
ROLES = ("chair", "clerk", "technician", "display")
NAMES = {"chair": "王主任", "clerk": "李秘书长", "technician": "张技术员", "display": "会场大屏"}
TOKENS = {role: f"{role}-token-5e1f0c" for role in ROLES}
PASSWORDS = {role: f"{role}-password-73b" for role in ROLES}
CHROMIUM = os.environ.get("HALLVOTE_CHROMIUM", "/usr/bin/chromium")


def write_console_config(
    path: Path, *, database_url: str, broker: MosquittoBroker, api_port: int, idle_min: int = 30
) -> Path:
    users = "".join(
        f'[[users]]\nname = "{NAMES[role]}"\nrole = "{role}"\n'
        f'token_sha256 = "{hashlib.sha256(TOKENS[role].encode()).hexdigest()}"\n'
        f'password_argon2 = "{hash_password(PASSWORDS[role])}"\n\n'
        for role in ROLES
    )
    assert broker.local_port is not None
    path.write_text(
        f'hall_id = "{HALL}"\ndatabase_url = "{database_url}"\ntime_zone = "Asia/Shanghai"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {broker.local_port}\nusername = "{broker.gateway.username}"\n'
        f'password = "{broker.gateway.password}"\n\n'
        f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n[console]\nidle_timeout_min = {idle_min}\n\n{users}',
        encoding="utf-8",
    )
    return path


@dataclass
class ConsoleHall:
    engine: Engine
    hall: SeededHall
    gateway: GatewayProcess
    keypads: dict[str, SimKeypad]
    out: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.gateway.api_port}"

    def api(self, method: str, path: str, role: str = "clerk", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        return httpx.request(method, f"{self.base}/api/v1{path}", headers=headers, timeout=30, **kw)

    def kp(self, i: int) -> SimKeypad:
        return self.keypads[f"kp-{i}"]

    def check_in(self, *numbers: int) -> None:
        sitting = self.api("GET", f"/sittings/{self.hall.sitting_id}").json()
        nonce = bytes.fromhex(sitting["nonce"])
        for i in numbers:
            kp = self.kp(i)
            kp.send(kp.keypad.check_in(self.hall.sitting_id, nonce))
        self.settle(numbers)

    def settle(self, numbers: tuple[int, ...] | list[int]) -> None:
        kps = [self.kp(i) for i in numbers]
        wait_for(lambda: all(not kp.pending for kp in kps), retransmit=kps)

    def online(self, *numbers: int, battery: int = 90) -> None:
        """Keypads say they are online (presence) and report their health (a status frame)."""
        for i in numbers:
            kp = self.kp(i)
            assert kp.client is not None
            topic = topics.device(HALL, kp.keypad.device_id, "presence")
            kp.client.publish(topic, topics.PRESENCE_ONLINE, qos=1, retain=True).wait_for_publish(30)
            kp.send(kp.keypad.status(battery=battery), channel="status")

    def add_motion(self, body: dict[str, Any]) -> dict[str, Any]:
        r = self.api("POST", f"/sittings/{self.hall.sitting_id}/motions", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def vote(self, motion: dict[str, Any], votes: dict[int, tuple[int, ...]], number: int = 1) -> None:
        detail = self.api("GET", f"/motions/{motion['id']}").json()
        rnd = next(r for r in detail["rounds"] if r["number"] == number)
        nonce = bytes.fromhex(rnd["nonce"])
        for i, choices in votes.items():
            kp = self.kp(i)
            kp.send(kp.keypad.vote(motion["id"], number, nonce, choices, kind=motion["ballot_kind"]))
        self.settle(list(votes))
        for i in votes:
            reply = self.kp(i).replies[self.kp(i).keypad.counter]
            assert getattr(reply, "reason", 0) == 0, (i, reply)


@contextlib.contextmanager
def hall_with_console(tmp_path: Path, backend: str = "sqlite", members: int = 12) -> Iterator[ConsoleHall]:
    devices = [f"kp-{i}" for i in range(1, members + 1)]
    with (
        fresh_database(backend, tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=members)
        api_port = free_port()
        config = write_console_config(
            tmp_path / "hall.toml", database_url=url, broker=broker, api_port=api_port
        )
        proc = GatewayProcess(config, api_port, tmp_path / "gateway.log")
        keypads = {dev: SimKeypad(broker, hall.keypads[dev]) for dev in devices}
        out = tmp_path / "screenshots"
        out.mkdir()
        try:
            proc.start()
            for kp in keypads.values():
                kp.connect()
            yield ConsoleHall(engine, hall, proc, keypads, out)
        finally:
            for kp in keypads.values():
                kp.close()
            proc.stop()
            engine.dispose()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) under Playwright; skips (fails under REQUIRE_ALL) without one."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"Chromium not found at {CHROMIUM} (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Python package 'playwright' is not installed (pip install -e '.[dev]')")
        raise
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Any, base: str, role: str, path: str = "/console") -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{base}{path}")
    page.fill("#name", NAMES[role])
    page.fill("#password", PASSWORDS[role])
    page.click("#signin")
    page.wait_for_load_state()
    return page


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)


Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN
