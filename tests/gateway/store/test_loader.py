"""Replay windows rebuilt from the store (SQLite and PostgreSQL) are as bounded as live ones and protect the same."""

from __future__ import annotations

import itertools

import pytest
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import SeededHall, add_motion, seed_hall
from sqlalchemy import Engine

from gateway.core.decide import Inbound
from gateway.core.replay import DIGEST, KEEP, WINDOW
from gateway.service import Gateway
from protocol import codec, consts, frames, reasons

Y, N_ = consts.YES, consts.NO


@pytest.fixture
def hall(engine: Engine) -> SeededHall:  # noqa: F811
    return seed_hall(engine, members=3)


def make_gateway(engine: Engine) -> Gateway:  # noqa: F811
    nonces = itertools.count(1)
    return Gateway(
        engine, "county-hall", clock=lambda: 1_795_500_000.0, nonce=lambda: next(nonces).to_bytes(8, "big")
    )


def reply(gw: Gateway, dev: str, payload: bytes) -> frames.Frame:
    out = gw.handle_batch([Inbound(dev, "up", payload, 1.0)])
    return codec.decode(out[0].payload)


def test_a_restart_keeps_the_bound_and_the_answers(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    gw.open_checkin("chair")
    kp = hall.kp(1)
    for i in (1, 2):
        checkin = hall.kp(i).check_in(hall.sitting_id, gw.sitting.nonce)  # type: ignore[union-attr]
        assert isinstance(reply(gw, f"kp-{i}", checkin), frames.Ack)
    gw.start_session("chair")
    named = gw.add_motion(
        add_motion(engine, hall.sitting_id, secret=False, press_policy=consts.LAST_PRESS), "clerk"
    )
    gw.open_round(named, "chair")
    nonce = gw.sitting.rounds[named].nonce  # type: ignore[union-attr]
    votes = [kp.vote(named[0], 1, nonce, ((Y, N_)[i % 2],)) for i in range(KEEP + 3)]
    for v in votes:
        assert isinstance(reply(gw, "kp-1", v), frames.Ack)
    gw.close_round(named, "chair")
    secret = gw.add_motion(
        add_motion(engine, hall.sitting_id, secret=True, press_policy=consts.LAST_PRESS), "clerk"
    )
    gw.open_round(secret, "chair")
    snonce = gw.sitting.rounds[secret].nonce  # type: ignore[union-attr]
    secret_votes = [kp.vote(secret[0], 1, snonce, ((Y, N_)[i % 2],)) for i in range(KEEP + 1)]
    for v in secret_votes:
        assert isinstance(reply(gw, "kp-1", v), frames.Ack)

    again = make_gateway(engine)  # a restart while the secret round is open
    window = again.state.replay["kp-1"]
    assert len(window.records) == KEEP and len(window.digests) == WINDOW * DIGEST
    assert window.highest == kp.counter
    # the oldest secret vote's whole answer was dropped on reload: no digest kept for it
    first_secret = kp.counter - KEEP
    slot = first_secret % WINDOW
    assert window.blind >> slot & 1
    assert window.digests[slot * DIGEST : (slot + 1) * DIGEST] == bytes(DIGEST)
    # an old named vote: re-acked from the frame, a forged one with its counter refused
    old = reply(again, "kp-1", votes[0])
    assert isinstance(old, frames.Ack) and old.reason == reasons.ALREADY_RECORDED
    assert (old.ref_id, old.round, old.choices, old.seat) == (named[0], 1, (), "")
    forged = kp.vote(named[0], 1, nonce, (N_,), counter=old.counter)
    assert codec.decode(again.handle_batch([Inbound("kp-1", "up", forged, 1.0)])[0].payload).reason == (
        reasons.STALE_COUNTER
    )
    # the newest secret vote is still exact: its retransmission acked, another frame refused
    last = reply(again, "kp-1", secret_votes[-1])
    assert isinstance(last, frames.Ack) and last.reason == reasons.ALREADY_RECORDED
    other = kp.vote(secret[0], 1, snonce, (consts.ABSTAIN,), counter=last.counter)
    assert codec.decode(again.handle_batch([Inbound("kp-1", "up", other, 1.0)])[0].payload).reason == (
        reasons.STALE_COUNTER
    )
