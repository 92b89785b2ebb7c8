"""Presence changes are batched: a burst of retained presences (as after a gateway restart) is stored in a
few transactions, not one per message, and none is lost.  Real Mosquitto (generated config), real database
(SQLite and PostgreSQL), the real gateway service and bridge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hvtest.databases import BACKENDS, fresh_database
from hvtest.gatewayproc import wait_for
from hvtest.mosquitto import running_broker
from hvtest.seed import seed_hall
from sqlalchemy import select

from gateway.broker_bridge import BrokerBridge
from gateway.broker_bridge.handler import Outbound
from gateway.db import init_db, make_engine
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import topics

pytestmark = pytest.mark.mosquitto

HALL = "county-hall"
MEMBERS = 40


class CountingGateway(Gateway):
    calls: list[int]

    def presences(self, items: Sequence[tuple[str, bool, float]]) -> list[Outbound]:
        self.calls.append(len(items))
        return super().presences(items)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_burst_of_retained_presences_is_stored_in_a_few_transactions(tmp_path: Path, backend: str) -> None:
    devices = [f"kp-{i}" for i in range(1, MEMBERS + 1)]
    with (
        fresh_database(backend, tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        seed_hall(engine, hall_id=HALL, members=MEMBERS)
        for dev in devices:  # every keypad came online while the gateway was away (retained, as the firmware)
            client = broker.paho(dev, client_id=dev, tls=True)
            client.publish(topics.device(HALL, dev, "presence"), topics.PRESENCE_ONLINE, qos=1, retain=True)
            client.close()
        gateway = CountingGateway(engine, HALL)
        gateway.calls = []
        assert broker.local_port is not None
        bridge = BrokerBridge(
            hall_id=HALL,
            host=broker.host,
            port=broker.local_port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            handler=gateway,
            batch_wait_s=0.5,
        )
        bridge.start()
        try:

            def online() -> set[str]:
                with engine.connect() as conn:
                    return set(conn.execute(select(t.device.c.device_id).where(t.device.c.online)).scalars())

            wait_for(lambda: online() == set(devices))
            assert sum(gateway.calls) == MEMBERS
            assert len(gateway.calls) < MEMBERS // 4, gateway.calls  # batched, not one transaction each
            assert bridge.stats().handled == MEMBERS
        finally:
            bridge.stop()
            engine.dispose()
