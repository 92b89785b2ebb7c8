"""A fair close: presses that reached the gateway's bridge before the chair's close are decided in that
round (drain, then close).  Real Mosquitto (generated config), real database (SQLite and PostgreSQL),
the real gateway service and bridge; the gateway is slowed (a verifier that takes 20 ms per frame) so a
queue of presses is still waiting in the bridge when the chair closes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hvtest.databases import BACKENDS, fresh_database
from hvtest.gatewayproc import SimKeypad, wait_for
from hvtest.mosquitto import running_broker
from hvtest.seed import add_motion, seed_hall
from sqlalchemy import func, select

from gateway.broker_bridge import BrokerBridge
from gateway.core import signatures as crypto
from gateway.db import init_db, make_engine
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import codec, consts, frames, reasons

pytestmark = pytest.mark.mosquitto

HALL = "county-hall"
MEMBERS = 30


def slow_verify(*args: Any, **kw: Any) -> Any:
    time.sleep(0.02)
    return crypto.verify(*args, **kw)


@pytest.fixture(params=BACKENDS)
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    devices = [f"kp-{i}" for i in range(1, MEMBERS + 1)]
    with (
        fresh_database(request.param, tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        seeded = seed_hall(engine, hall_id=HALL, members=MEMBERS)
        gateway = Gateway(engine, HALL, verify=slow_verify)
        assert broker.local_port is not None
        bridge = BrokerBridge(
            hall_id=HALL,
            host=broker.host,
            port=broker.local_port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            handler=gateway,
            batch_max=8,
            retained=gateway.republish,
        )
        gateway.on_broadcast(lambda outs: [bridge.publish(o) for o in outs])
        gateway.set_drain(bridge.drain)
        keypads = [SimKeypad(broker, seeded.keypads[d]) for d in devices]
        bridge.start()
        try:
            assert bridge.connected.wait(10)
            for kp in keypads:
                kp.connect()
            yield engine, seeded, gateway, bridge, keypads
        finally:
            for kp in keypads:
                kp.close()
            bridge.stop()
            engine.dispose()


def test_presses_received_before_the_close_count_in_the_round(hall: Any) -> None:
    engine, seeded, gateway, bridge, keypads = hall
    gateway.activate_sitting(seeded.sitting_id)
    gateway.open_checkin("chair")
    nonce = gateway.sitting.nonce
    for kp in keypads:
        kp.send(kp.keypad.check_in(seeded.sitting_id, nonce))
    wait_for(lambda: all(not kp.pending for kp in keypads), timeout=60, retransmit=keypads)
    gateway.start_session("chair")
    motion = add_motion(engine, seeded.sitting_id, secret=False, press_policy=consts.LAST_PRESS)
    key = gateway.add_motion(motion, "clerk")
    gateway.open_round(key, "chair")
    round_nonce = gateway.sitting.rounds[key].nonce

    received = bridge.stats().received
    counters = {
        kp.keypad.device_id: kp.send(kp.keypad.vote(motion, 1, round_nonce, (consts.YES,))) for kp in keypads
    }
    wait_for(lambda: bridge.stats().received >= received + MEMBERS, every=0.001)
    queued = MEMBERS - sum(counters[kp.keypad.device_id] in kp.replies for kp in keypads)
    assert queued > MEMBERS // 2, "the gateway decided the presses before the close: nothing was tested"

    gateway.close_round(key, "chair")  # the chair closes while the presses wait in the bridge
    assert gateway.sitting.rounds[key].state.value == "closed"
    wait_for(lambda: all(counters[kp.keypad.device_id] in kp.replies for kp in keypads), timeout=60)
    answers = [kp.replies[counters[kp.keypad.device_id]] for kp in keypads]
    assert all(isinstance(a, frames.Ack) and a.reason == reasons.ACCEPTED for a in answers), answers
    result = gateway.sitting.rounds[key].result
    assert result is not None and result.items[0].counts[0] == MEMBERS  # every yes counted
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(t.named)).scalar_one()
    assert stored == MEMBERS

    late = keypads[0]  # a press made after the close is refused
    counter = late.send(late.keypad.vote(motion, 1, round_nonce, (consts.NO,)))
    wait_for(lambda: counter in late.replies)
    assert late.replies[counter].reason == reasons.ROUND_CLOSED  # type: ignore[attr-defined]
    assert codec  # decoded replies come from the real codec


def test_drain_returns_at_once_when_nothing_is_queued(hall: Any) -> None:
    _engine, _seeded, _gateway, bridge, _keypads = hall
    assert bridge.drain(timeout=5.0) is True


def test_drain_of_a_bridge_that_is_not_running_is_false() -> None:
    bridge = BrokerBridge(hall_id=HALL, host="127.0.0.1", port=1, username="u", password="p", handler=None)  # type: ignore[arg-type]
    assert bridge.drain(timeout=0.1) is False
