"""Broadcasts that scale: during a check-in burst the retained sitting broadcast (实到) is coalesced,
at most one per SITTING_EVERY_S and always the latest; a change of the sitting's state is never held.
Real database (SQLite and PostgreSQL), the real gateway service; no broker (batches as the bridge hands them)."""

from __future__ import annotations

import pytest
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import seed_hall
from sqlalchemy import Engine

import gateway.service as service
from gateway.broker_bridge.handler import Outbound
from gateway.core.decide import Inbound
from gateway.service import Gateway
from protocol import codec, consts, frames

MEMBERS = 10


def _sittings(outs: list[Outbound]) -> list[frames.SittingState]:
    decoded = [codec.decode(o.payload) for o in outs if o.topic.endswith("/sitting")]
    return [f for f in decoded if isinstance(f, frames.SittingState)]


def test_checkin_broadcasts_are_coalesced_and_the_latest_goes_out(
    engine: Engine,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hall = seed_hall(engine, members=MEMBERS)
    gw = Gateway(engine, "county-hall")
    published: list[Outbound] = []
    gw.on_broadcast(published.extend)
    gw.activate_sitting(hall.sitting_id)
    monkeypatch.setattr(service, "SITTING_EVERY_S", 3600.0)  # nothing is due within the test
    gw.open_checkin("chair")
    opened = _sittings(published)
    assert opened[-1].state == consts.SITTING_CHECKIN_OPEN  # a state change goes out at once
    published.clear()

    from_batches: list[Outbound] = []
    for i in range(1, MEMBERS + 1):  # one check-in per batch: ten changes of 实到
        kp = hall.kp(i)
        out = gw.handle_batch(
            [Inbound(kp.device_id, "up", kp.check_in(hall.sitting_id, gw.sitting.nonce), 1.0)]
        )
        from_batches.extend(out)
    assert _sittings(from_batches) == []  # held: not one broadcast per check-in
    assert gw.tick() == [] and _sittings(published) == []  # not yet due

    monkeypatch.setattr(service, "SITTING_EVERY_S", 0.0)  # now due: the ticker publishes the latest
    gw.tick()
    latest = _sittings(published)
    assert len(latest) == 1 and latest[0].present == MEMBERS and latest[0].expected == MEMBERS
    published.clear()
    gw.tick()
    assert _sittings(published) == []  # published once, then nothing is due

    gw.start_session("chair")  # a state change is never held, whatever the interval
    assert _sittings(published)[-1].state == consts.SITTING_IN_SESSION


def test_the_live_picture_is_computed_once_per_change(engine: Engine) -> None:  # noqa: F811
    hall = seed_hall(engine, members=3)
    gw = Gateway(engine, "county-hall")
    gw.activate_sitting(hall.sitting_id)
    gw.open_checkin("chair")
    first = gw.snapshot()
    assert gw.snapshot() is first  # nothing changed: the same picture, not rebuilt
    kp = hall.kp(1)
    gw.handle_batch([Inbound(kp.device_id, "up", kp.check_in(hall.sitting_id, gw.sitting.nonce), 1.0)])
    after = gw.snapshot()
    assert after is not first and after["sitting"]["present"] == 1 and first["sitting"]["present"] == 0
    assert gw.sitting_run(hall.sitting_id) is gw.sitting and gw.sitting_run(hall.sitting_id + 1) is None


def test_a_bigger_hall_gets_sitting_broadcasts_less_often() -> None:
    """protocol/SPEC.md: T = 0.25 x max(1, expected / 500) seconds between coalesced 实到 broadcasts."""
    assert service.sitting_interval(10) == service.sitting_interval(500) == 0.25
    assert service.sitting_interval(1000) == 0.5
    assert service.sitting_interval(3000) == 1.5
