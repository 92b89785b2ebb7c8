"""The gateway service on a real database (SQLite and PostgreSQL): durable decisions, rebuild, secret erasure.

No broker here: batches go straight to Gateway.handle_batch, as the bridge
hands them over.  Integration through a real Mosquitto is in
tests/gateway/test_integration.py.
"""

from __future__ import annotations

import itertools

import pytest
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import SeededHall, add_motion, seed_hall
from sqlalchemy import Engine, func, select

from gateway.core.decide import Inbound
from gateway.core.errors import CommandError
from gateway.service import Gateway, StoreError
from gateway.store import tables as t
from protocol import codec, consts, frames, reasons, topics

Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_500_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hall(engine: Engine) -> SeededHall:  # noqa: F811
    return seed_hall(engine, members=5)


def make_gateway(engine: Engine, clock: Clock | None = None) -> Gateway:  # noqa: F811
    nonces = itertools.count(1)
    return Gateway(
        engine, "county-hall", clock=clock or Clock(), nonce=lambda: next(nonces).to_bytes(8, "big")
    )


def send(gw: Gateway, *items: tuple[str, bytes]) -> list[frames.Frame]:
    out = gw.handle_batch([Inbound(dev, "up", payload, 1.0) for dev, payload in items])
    replies = [o for o in out if o.topic.endswith("/down")]
    assert [topics.parse(o.topic)[1] for o in replies] == [dev for dev, _ in items]
    return [codec.decode(o.payload) for o in replies]


def start(gw: Gateway, hall: SeededHall, present: int = 5) -> None:
    gw.open_checkin("chair")
    send(
        gw,
        *[(f"kp-{i}", hall.kp(i).check_in(hall.sitting_id, gw.sitting.nonce)) for i in range(1, present + 1)],
    )
    gw.start_session("chair")


def test_batch_is_durable_and_rebuilt_after_restart(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    assert gw.sitting is not None and gw.sitting.sitting_id == hall.sitting_id
    start(gw, hall)
    key = gw.add_motion(add_motion(engine, hall.sitting_id, secret=False), "clerk")
    gw.open_round(key, "chair")
    nonce = gw.sitting.rounds[key].nonce
    v1 = hall.kp(1).vote(key[0], 1, nonce, (Y,))
    replies = send(gw, ("kp-1", v1), ("kp-2", hall.kp(2).vote(key[0], 1, nonce, (N_,))), ("kp-1", v1))
    assert [r.reason for r in replies] == [reasons.ACCEPTED, reasons.ACCEPTED, reasons.ALREADY_RECORDED]

    again = make_gateway(engine)  # a restart: everything comes back from the store
    assert again.sitting is not None and again.sitting.present == 5
    run = again.sitting.rounds[key]
    assert {m: b.choices for m, b in run.ballots.items()} == {hall.members[0]: (Y,), hall.members[1]: (N_,)}
    assert again.sitting.current == key
    (retrans,) = send(again, ("kp-1", v1))
    assert retrans.reason == reasons.ALREADY_RECORDED  # the replay window was rebuilt too
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.named)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(t.accepted)).scalar() == 5 + 2


def test_close_freezes_result_and_secret_close_erases_links(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    start(gw, hall)
    key = gw.add_motion(
        add_motion(engine, hall.sitting_id, secret=True, press_policy=consts.LAST_PRESS), "clerk"
    )
    gw.open_round(key, "chair")
    nonce = gw.sitting.rounds[key].nonce
    send(
        gw,
        *[(f"kp-{i}", hall.kp(i).vote(key[0], 1, nonce, (c,))) for i, c in [(1, Y), (2, Y), (3, N_), (4, Y)]],
    )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.pending)).scalar() == 4
    gw.close_round(key, "chair")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.pending)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(t.participation)).scalar() == 4
        tallies = {(r.item, r.choice): r._mapping["count"] for r in conn.execute(select(t.secret_tally))}
        assert tallies == {(0, Y): 3, (0, N_): 1}
        digests = conn.execute(
            select(t.accepted.c.digest).where(t.accepted.c.frame_type == consts.VOTE)
        ).scalars()
        assert list(digests) == [None] * 4
        result = conn.execute(select(t.result)).one()
        assert (result.expected, result.present, result.not_pressed, result.outcome) == (
            5,
            5,
            1,
            consts.OUTCOME_PASSED,
        )
    rebuilt = make_gateway(engine)
    run = rebuilt.sitting.rounds[key]
    assert run.ballots == {} and run.totals[0][Y] == 3 and run.result is not None
    assert run.result == gw.sitting.rounds[key].result


def test_refusals_and_commands_through_the_service(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    (early,) = send(gw, ("kp-1", hall.kp(1).check_in(hall.sitting_id, gw.sitting.nonce)))
    assert isinstance(early, frames.Nack) and early.reason == reasons.NO_SITTING
    start(gw, hall, present=3)  # 3 of 5 is not more than 2/3
    key = gw.add_motion(add_motion(engine, hall.sitting_id), "clerk")
    with pytest.raises(CommandError) as err:
        gw.open_round(key, "chair")
    assert err.value.code == "QUORUM_NOT_MET"
    send(gw, ("kp-4", hall.kp(4).check_in(hall.sitting_id, gw.sitting.nonce)))
    gw.open_round(key, "chair")
    nonce = gw.sitting.rounds[key].nonce
    (bad,) = send(gw, ("kp-5", hall.kp(5).vote(key[0], 1, nonce, (Y,))))
    assert isinstance(bad, frames.Nack) and bad.reason == reasons.NOT_CHECKED_IN
    with engine.connect() as conn:
        late = conn.execute(
            select(t.attendance.c.late).where(t.attendance.c.member_id == hall.members[3])
        ).scalar()
        assert late is True


def test_failed_commit_acks_nothing_and_rebuilds(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    gw.open_checkin("chair")
    good = hall.kp(1).check_in(hall.sitting_id, gw.sitting.nonce)
    # Behind the gateway's back, kp-1's seat A-1 is removed from the store while the gateway's
    # memory still has kp-1 at A-1: writing the check-in (which needs seat A-1's row) must fail.
    assert gw.state.devices["kp-1"].seat == "A-1"
    with engine.begin() as conn:
        conn.execute(t.device.update().where(t.device.c.device_id == "kp-1").values(seat_id=None))
        conn.execute(t.seat_assignment.delete().where(t.seat_assignment.c.seat_id == hall.seats["A-1"]))
        conn.execute(t.seat.delete().where(t.seat.c.id == hall.seats["A-1"]))
    with pytest.raises(StoreError) as err:
        gw.handle_batch([Inbound("kp-1", "up", good, 1.0)])
    assert err.value.__cause__ is None and "\n" not in str(err.value)  # no driver DETAIL, no parameters
    assert gw.sitting.present == 0  # rebuilt from the store: nothing of the batch stayed in memory
    assert gw.state.devices["kp-1"].seat is None


def test_announce_broadcasts_result_and_snapshot(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    published: list[tuple[str, bytes, bool]] = []
    gw.on_broadcast(lambda outs: published.extend((o.topic, o.payload, o.retain) for o in outs))
    start(gw, hall)
    key = gw.add_motion(add_motion(engine, hall.sitting_id, secret=True), "clerk")
    gw.open_round(key, "chair")
    assert codec.decode(published[-1][1]).TYPE == consts.MOTION_OPEN and published[-1][2]
    snap = gw.snapshot()
    assert snap["sitting"]["present"] == 5 and snap["round"]["totals"] is None  # secret: no live counts
    nonce = gw.sitting.rounds[key].nonce
    send(gw, ("kp-1", hall.kp(1).vote(key[0], 1, nonce, (Y,))))
    assert gw.snapshot()["round"]["voted"] == 1
    gw.close_round(key, "chair")
    gw.announce_round(key, "chair")
    summary = codec.decode(published[-1][1])
    assert isinstance(summary, frames.ResultSummary) and summary.items[0][1] == (1, 0, 0)
    snap = gw.snapshot()
    assert snap["round"]["state"] == "announced" and snap["round"]["totals"] == [[1, 0, 0]]
    assert snap["round"]["result"]["outcome"] == consts.OUTCOME_FAILED  # 1 yes of 5 members


def test_reload_keeps_the_activated_sitting_and_current_broadcasts(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    from sqlmodel import Session

    from gateway.db import models as m

    with Session(engine) as s:
        newer = m.Sitting(
            body_id=hall.body_id, hall_id=hall.hall_id, kind=m.SittingKind.PLENARY, title="第二次全体会议"
        )
        s.add(newer)
        s.commit()
        newer_id = newer.id
    gw = make_gateway(engine)
    assert gw.sitting.sitting_id == newer_id  # the latest open sitting by default
    gw.activate_sitting(hall.sitting_id)
    gw.reload()
    assert gw.sitting.sitting_id == hall.sitting_id
    start(gw, hall)
    key = gw.add_motion(add_motion(engine, hall.sitting_id), "clerk")
    gw.open_round(key, "chair")
    kinds = [codec.decode(o.payload).TYPE for o in gw.current_broadcasts()]
    assert kinds == [consts.SITTING_STATE, consts.MOTION_OPEN]
    assert all(o.retain for o in gw.current_broadcasts())


def test_frames_below_the_replay_window_are_pruned(engine: Engine, hall: SeededHall) -> None:  # noqa: F811
    gw = make_gateway(engine)
    kp = hall.kp(1)
    sent = [kp.status() for _ in range(400)]

    def feed(frames_: list[bytes]) -> None:
        for i in range(0, len(frames_), 50):
            gw.handle_batch([Inbound("kp-1", "status", f, 1.0) for f in frames_[i : i + 50]])

    feed(sent[:300])
    assert gw.prune_frames() == 0  # the window moved on by 44 < 64 counters: not yet
    feed(sent[300:])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.accepted)).scalar() == 400
    assert gw.prune_frames() == 400 - 256
    assert gw.prune_frames() == 0  # nothing new below the window
    with engine.connect() as conn:
        counters = sorted(conn.execute(select(t.accepted.c.counter)).scalars())
    assert counters == list(range(145, 401))
    old, kept = (gw.handle_batch([Inbound("kp-1", "status", f, 2.0)]) for f in (sent[10], sent[200]))
    assert codec.decode(old[0].payload).reason == reasons.STALE_COUNTER  # refused before the store is asked
    assert codec.decode(kept[0].payload).reason == reasons.ALREADY_RECORDED
    assert make_gateway(engine).state.replay["kp-1"].highest == 400  # a restart still knows the window
