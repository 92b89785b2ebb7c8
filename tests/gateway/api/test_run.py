"""``hallvote gateway run`` as a process: real Mosquitto (TLS), real database, HTTP, a keypad, SIGTERM.

The chair opens check-in over HTTP; the hall broadcast reaches a subscriber
through the broker; a keypad's signed check-in is acked through the broker
and counted in the live picture; SIGTERM stops everything and exits 0.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.mosquitto import SERVER_NAME, free_port, running_broker
from hvtest.seed import seed_hall
from hvtest.tools import REPO
from sqlalchemy import Engine

from gateway.audit import AuditLog
from protocol import codec, consts, frames, topics

pytestmark = pytest.mark.mosquitto

HALL = "county-hall"
TOKEN = "chair-token-7f3a9c2e1b"


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.upper().startswith("HALLVOTE_")}
    keep["PYTHONUNBUFFERED"] = "1"
    return keep


def _wait_healthy(proc: subprocess.Popen[str], base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"gateway exited with {proc.returncode}:\n{proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the gateway's API did not come up")


def test_run_serves_bridges_and_stops_on_sigterm(tmp_path: Path, engine: Engine) -> None:  # noqa: F811
    hall = seed_hall(engine, hall_id=HALL, members=3)
    url = engine.url.render_as_string(hide_password=False)
    with running_broker(tmp_path / "mq", hall=HALL, devices=["kp-1", "kp-2", "kp-3"]) as broker:
        api_port = free_port()
        config = tmp_path / "hall.toml"
        config.write_text(
            f"""
hall_id = "{HALL}"
database_url = "{url}"

[broker]
host = "{SERVER_NAME}"
port = {broker.port}
username = "{broker.gateway.username}"
password = "{broker.gateway.password}"
ca_file = "{broker.ca_path}"

[api]
host = "127.0.0.1"
port = {api_port}

[[users]]
name = "主任"
role = "chair"
token_sha256 = "{hashlib.sha256(TOKEN.encode()).hexdigest()}"
""",
            encoding="utf-8",
        )
        screen = broker.paho(broker.display.username)
        screen.subscribe(topics.broadcast(HALL, "sitting"))
        keypad = broker.paho("kp-1", tls=True)
        keypad.subscribe(topics.device(HALL, "kp-1", "down"))

        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from gateway.cli import app; app()",
                "gateway",
                "run",
                "--config",
                str(config),
            ],
            cwd=REPO,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{api_port}"
            _wait_healthy(proc, base)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            r = httpx.post(f"{base}/api/v1/sittings/{hall.sitting_id}/checkin/open", headers=auth, timeout=10)
            assert r.status_code == 200, r.text

            # The command's retained broadcast went out through the bridge and the broker.
            msg, _ = screen.expect_where(
                lambda m: codec.decode(m.payload).state == consts.SITTING_CHECKIN_OPEN, timeout=20
            )
            assert isinstance(codec.decode(msg.payload), frames.SittingState)

            # A keypad checks in through the broker; it retransmits until acked, as the firmware does.
            check_in = hall.kp(1).check_in(hall.sitting_id, codec.decode(msg.payload).sitting_nonce)
            deadline = time.monotonic() + 20
            ack = None
            while ack is None and time.monotonic() < deadline:
                keypad.publish(topics.device(HALL, "kp-1", "up"), check_in)
                try:
                    reply = codec.decode(keypad.expect(timeout=1).payload)
                except TimeoutError:
                    continue
                ack = reply
            assert isinstance(ack, frames.Ack), ack
            live = httpx.get(f"{base}/api/v1/live", headers=auth, timeout=10).json()
            assert live["sitting"]["present"] == 1 and live["sitting"]["expected"] == 3

            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, out
        assert "网关已停止 / gateway stopped" in out

    kinds = [(r.kind, r.actor) for r in AuditLog(engine).records()]
    assert ("config.loaded", "system") in kinds
    calls = [json.loads(r.payload) for r in AuditLog(engine).records() if r.kind == "api.call"]
    assert calls == [
        {
            "method": "POST",
            "path": "/api/v1/sittings/{sitting_id}/checkin/open",
            "role": "chair",
            "status": 200,
        }
    ]
    assert AuditLog(engine).verify().ok
