"""/api/v1/health tells the truth, against the real gateway process: broker up or down (and since when,
and why), database reachable or not (PostgreSQL behind a proxy that is cut), the last commit's latency,
the active sitting; 503 while a dependency is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hvtest.databases import postgres_database
from hvtest.gatewayproc import GatewayProcess, free_port, wait_for, write_config
from hvtest.mosquitto import MosquittoBroker, running_broker
from hvtest.seed import seed_hall
from hvtest.tcpproxy import tcp_proxy
from sqlalchemy.engine import make_url

from gateway.db import init_db, make_engine

HALL = "county-hall"
pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, hall=HALL, devices=["kp-1"]) as b:
        yield b


def _health(gw: GatewayProcess) -> httpx.Response:
    return httpx.get(gw.url + "/health", timeout=10)


def test_health_follows_the_broker_and_the_database(tmp_path: Path, broker: MosquittoBroker) -> None:
    for url in postgres_database():
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=2)
        engine.dispose()
        parsed = make_url(url)
        with tcp_proxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            via = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            port = free_port()
            config = write_config(
                tmp_path / "hall.toml", hall=HALL, database_url=via, broker=broker, api_port=port
            )
            gw = GatewayProcess(config, port, tmp_path / "gateway.log")
            try:
                gw.start()
                r = _health(gw)
                body = r.json()
                assert r.status_code == 200 and body["status"] == "ok", body
                assert body["broker"]["connected"] and body["broker"]["since"].endswith("Z")
                assert body["database"]["reachable"] and body["database"]["last_commit_ms"] is None
                assert body["sitting"] is None or body["sitting"]["id"] == hall.sitting_id

                # a command commits: its latency is reported, and the sitting
                assert gw.api("POST", f"/sittings/{hall.sitting_id}/checkin/open").status_code == 200
                body = _health(gw).json()
                assert body["database"]["last_commit_ms"] > 0 and body["database"]["last_commit_at"]
                assert body["sitting"] == {"id": hall.sitting_id, "state": "checkin_open"}

                # the broker goes away: 503, why, since when; and the log says why with the backoff
                up_since = body["broker"]["since"]
                broker.stop()
                wait_for(lambda gw=gw: _health(gw).status_code == 503)
                down = _health(gw).json()
                assert down["status"] == "degraded" and down["broker"]["connected"] is False
                assert down["broker"]["since"] >= up_since and down["broker"]["last_error"]
                wait_for(lambda: "connection failed (refused:" in (tmp_path / "gateway.log").read_text())
                log = (tmp_path / "gateway.log").read_text()
                assert "next in" in log
                broker.start()
                wait_for(lambda gw=gw: _health(gw).status_code == 200)

                # the database goes away: 503 within a check interval, and back
                proxy.cut()
                wait_for(lambda gw=gw: _health(gw).status_code == 503)
                down = _health(gw).json()
                assert down["database"]["reachable"] is False and down["database"]["error"]
                assert down["broker"]["connected"] is True
                proxy.restore()
                wait_for(lambda gw=gw: _health(gw).status_code == 200)
                for secret in ("password", broker.gateway.password):
                    assert secret not in _health(gw).text
            finally:
                gw.stop()
