"""The live picture's counts are kept per vote (not recounted per change) and always equal the stored
ballots: through the real gateway service on SQLite and PostgreSQL, across changed votes, a reload
(the tally counted again from the store) and a close."""

from __future__ import annotations

import random

from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import add_motion, seed_hall
from sqlalchemy import Engine, select

from gateway.core.decide import Inbound
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import consts

MEMBERS = 12


def _stored(db: Engine) -> list[int]:
    """yes / no / abstain counted from the named ballots in the database."""
    with db.connect() as conn:
        rows = conn.execute(select(t.named.c.choices)).all()
    return [
        sum(1 for (c,) in rows if bytes(c)[0] == code) for code in (consts.YES, consts.NO, consts.ABSTAIN)
    ]


def test_the_live_counts_equal_the_stored_ballots_after_every_batch(engine: Engine) -> None:  # noqa: F811
    hall = seed_hall(engine, members=MEMBERS)
    gw = Gateway(engine, "county-hall")
    gw.activate_sitting(hall.sitting_id)
    gw.open_checkin("chair")
    nonce = gw.sitting.nonce  # type: ignore[union-attr]
    gw.handle_batch(
        [
            Inbound(hall.kp(i).device_id, "up", hall.kp(i).check_in(hall.sitting_id, nonce), 1.0)
            for i in range(1, MEMBERS + 1)
        ]
    )
    gw.start_session("chair")
    motion = add_motion(engine, hall.sitting_id, secret=False, press_policy=consts.LAST_PRESS)
    key = gw.add_motion(motion, "clerk")
    gw.open_round(key, "chair")
    round_nonce = gw.sitting.rounds[key].nonce  # type: ignore[union-attr]
    assert gw.snapshot()["round"]["totals"] == [[0, 0, 0]]  # the tally is counted here, then kept

    rng = random.Random(9)
    for step in range(6):
        batch = []
        for i in rng.sample(range(1, MEMBERS + 1), 5):
            kp = hall.kp(i)
            batch.append(
                Inbound(kp.device_id, "up", kp.vote(key[0], 1, round_nonce, (rng.randint(1, 3),)), 2.0)
            )
        gw.handle_batch(batch)
        picture = gw.snapshot()["round"]
        stored = _stored(engine)
        assert picture["totals"] == [stored], step
        assert picture["voted"] == sum(stored)
        if step == 2:
            gw.reload()  # a fresh state from the store: counted again, then kept again
    gw.close_round(key, "chair")
    assert gw.snapshot()["round"]["totals"] == [_stored(engine)]
