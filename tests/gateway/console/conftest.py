"""The console on a real database (SQLite and PostgreSQL) through FastAPI's TestClient: one browser per role.

The browser tests (Chromium) live beside these; here the rules are checked
quickly: sign-in, sessions, CSRF, roles, refusals.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hvtest.console import NAMES, PASSWORDS, ROLES, TOKENS
from hvtest.databases import engine  # the fixture, on SQLite and PostgreSQL (exported below)
from hvtest.seed import SeededHall, seed_hall
from sqlalchemy import Engine

from gateway.api import create_app
from gateway.audit import AuditLog
from gateway.config.settings import GatewaySettings
from gateway.console.auth import hash_password
from gateway.core.decide import Inbound
from gateway.service import Gateway
from protocol import codec, frames

__all__ = ["Console", "console", "engine", "settings_with_passwords"]

_HASHES = {role: hash_password(PASSWORDS[role]) for role in ROLES}


def settings_with_passwords(hall_id: str, idle_min: int = 30) -> GatewaySettings:
    return GatewaySettings(
        hall_id=hall_id,
        broker={"password": "unused-in-these-tests"},
        console={"idle_timeout_min": idle_min},
        users=[
            {
                "name": NAMES[role],
                "role": role,
                "token_sha256": hashlib.sha256(TOKENS[role].encode()).hexdigest(),
                "password_argon2": _HASHES[role],
            }
            for role in ROLES
        ],
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Console:
    app: Any
    gateway: Gateway
    audit: AuditLog
    hall: SeededHall
    engine: Engine

    def browser(self, role: str | None = None) -> TestClient:
        """A new client (its own cookies), signed in as ``role`` when given."""
        client = TestClient(self.app, follow_redirects=True)
        if role is not None:
            page = client.get("/console/login")
            r = client.post(
                "/console/login",
                data={"name": NAMES[role], "password": PASSWORDS[role], "csrf": csrf_of(page.text)},
            )
            assert r.status_code == 200, r.text
        return client

    def csrf(self, client: TestClient, path: str = "/console/records") -> str:
        return csrf_of(client.get(path).text)

    def check_in(self, *numbers: int) -> None:
        sitting = self.gateway.sitting
        assert sitting is not None
        out = self.gateway.handle_batch(
            [
                Inbound(
                    f"kp-{i}",
                    "up",
                    self.hall.kp(i).check_in(self.hall.sitting_id, sitting.nonce),
                    time.time(),
                )
                for i in numbers
            ]
        )
        replies = [codec.decode(o.payload) for o in out if o.topic.endswith("/down")]
        assert all(isinstance(r, frames.Ack) for r in replies), replies


@pytest.fixture
def console(engine: Engine) -> Iterator[Console]:
    hall = seed_hall(engine, members=5)
    audit = AuditLog(engine)
    gateway = Gateway(engine, hall.hall_id, audit_log=audit)
    app = create_app(gateway, settings_with_passwords(hall.hall_id), audit=audit, heartbeat_s=0.5)
    yield Console(app, gateway, audit, hall, engine)
