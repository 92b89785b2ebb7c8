"""The API on a real database (SQLite and PostgreSQL): a seeded hall, its gateway, a TestClient per role."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hvtest.databases import engine  # the fixture, on SQLite and PostgreSQL (exported below)
from hvtest.seed import SeededHall, seed_hall
from sqlalchemy import Engine

from gateway.api import create_app
from gateway.audit import AuditLog
from gateway.config.settings import GatewaySettings
from gateway.core.decide import Inbound
from gateway.service import Gateway
from protocol import codec, frames

__all__ = ["NAMES", "TOKENS", "Api", "api", "engine", "settings_for"]

TOKENS = {
    "chair": "chair-token-7f3a9c2e1b",
    "clerk": "clerk-token-4d8e2a6c0f",
    "technician": "tech-token-9b1c3e5a7d",
    "display": "display-token-2c4e6a8b0d",
}
NAMES = {"chair": "主任", "clerk": "秘书长", "technician": "技术员", "display": "大屏"}


def settings_for(hall_id: str) -> GatewaySettings:
    return GatewaySettings(
        hall_id=hall_id,
        broker={"password": "unused-in-these-tests"},
        users=[
            {"name": NAMES[role], "role": role, "token_sha256": hashlib.sha256(token.encode()).hexdigest()}
            for role, token in TOKENS.items()
        ],
    )


@dataclass
class Api:
    """What a test needs: the client, the gateway behind it, its audit log, the seeded hall.

    Test modules cannot import this conftest (importlib mode), so the token
    table and user names travel on the fixture too (``api.tokens``, ``api.names``).
    """

    client: TestClient
    gateway: Gateway
    audit: AuditLog
    hall: SeededHall
    engine: Engine
    tokens: dict[str, str]
    names: dict[str, str]

    @staticmethod
    def auth(role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {TOKENS[role]}"}

    def get(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.auth(role), **kw)

    def post(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self.auth(role), **kw)

    def send(self, *frames_: tuple[str, bytes]) -> list[frames.Frame]:
        """Uplink frames handed to the gateway as the broker bridge would; returns the replies."""
        out = self.gateway.handle_batch(
            [Inbound(dev, "up", payload, time.time()) for dev, payload in frames_]
        )
        return [codec.decode(o.payload) for o in out if o.topic.endswith("/down")]

    def check_in(self, *numbers: int) -> None:
        sitting = self.gateway.sitting
        assert sitting is not None
        replies = self.send(
            *[(f"kp-{i}", self.hall.kp(i).check_in(self.hall.sitting_id, sitting.nonce)) for i in numbers]
        )
        assert all(isinstance(r, frames.Ack) for r in replies), replies


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    hall = seed_hall(engine, members=5)
    audit = AuditLog(engine)
    gateway = Gateway(engine, hall.hall_id, audit_log=audit)
    app = create_app(gateway, settings_for(hall.hall_id), audit=audit, heartbeat_s=0.5)
    with TestClient(app) as client:
        yield Api(client, gateway, audit, hall, engine, dict(TOKENS), dict(NAMES))
