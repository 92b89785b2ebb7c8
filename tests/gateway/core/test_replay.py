"""Replay windows stay a few KB per keypad over a day, and replay protection holds across their bounds."""

from __future__ import annotations

from hvtest.halls import SITTING_NONCE, Hall

from gateway.core import commands, replay
from gateway.core.replay import KEEP, WINDOW, Accepted, ReplayWindow
from protocol import consts, reasons
from protocol.frames import Ack, Nack, Status


def _ack(decision) -> Ack:  # type: ignore[no-untyped-def]
    assert isinstance(decision.reply, Ack), decision
    return decision.reply


def _nack(decision) -> int:  # type: ignore[no-untyped-def]
    assert isinstance(decision.reply, Nack), decision
    return decision.reply.reason


def _heartbeats(hall: Hall, i: int, n: int) -> None:
    for _ in range(n):
        assert hall.feed(f"kp-{i}", hall.kp(i).status(), channel="status").accepted


def test_window_holds_one_ring_and_few_answers_after_a_day_of_heartbeats() -> None:
    w = ReplayWindow()
    for c in range(1, 960 + 1):  # 8 hours of 30 s heartbeats
        w.record(Accepted(c, consts.STATUS, c.to_bytes(32, "big"), reasons.ACCEPTED))
        if c % 50 == 0:
            w.record(Accepted(c + 10_000, consts.VOTE, b"v" * 32, reasons.ACCEPTED, 7, 1, (1,), "A-1"))
    assert w.highest == 10_000 + 950
    assert len(w.digests) == WINDOW * replay.DIGEST  # never grows
    assert len(w.records) <= KEEP
    assert len(w.accepted()) <= WINDOW
    assert w.seen < 1 << WINDOW and w.blind < 1 << WINDOW


def test_window_counts_stay_bounded_in_the_core() -> None:
    hall = Hall(members=2)
    hall.state.sitting = None
    _heartbeats(hall, 1, WINDOW * 2 + 7)
    window = hall.state.replay["kp-1"]
    assert len(window.accepted()) == WINDOW
    assert window.records == {}
    assert len(window.digests) == WINDOW * replay.DIGEST


def test_replay_protection_holds_across_the_bound() -> None:
    hall = Hall()
    hall.open_checkin()
    kp = hall.kp(1)
    checkin = kp.check_in(42, SITTING_NONCE)
    first = _ack(hall.feed("kp-1", checkin))
    _heartbeats(hall, 1, 40)
    status = kp.status()
    assert hall.feed("kp-1", status, channel="status").accepted
    _heartbeats(hall, 1, WINDOW - 10)
    # a heartbeat inside the window, held only as a digest: re-acked the same
    again = _ack(hall.feed("kp-1", status, channel="status"))
    assert (again.reason, again.acked_type, again.counter) == (reasons.ALREADY_RECORDED, consts.STATUS, 42)
    # a forged frame with that used counter (validly signed, other bytes) is refused
    forged = kp.seal(Status("kp-1", 42, (1, 0, 0), 61, 50, -50, 1))
    assert _nack(hall.feed("kp-1", forged, channel="status")) == reasons.STALE_COUNTER
    # the check-in fell below highest - 256: stale, whatever its bytes
    assert kp.counter - WINDOW >= first.counter
    assert _nack(hall.feed("kp-1", checkin)) == reasons.STALE_COUNTER


def test_recent_votes_are_re_acked_with_the_first_answer_older_ones_from_the_frame() -> None:
    hall = Hall()
    hall.in_session()
    key = hall.add_motion(policy=consts.LAST_PRESS)
    nonce = hall.open(key)
    kp = hall.kp(1)
    frames = [kp.vote(7, 1, nonce, ((consts.YES, consts.NO)[i % 2],)) for i in range(KEEP + 4)]
    answers = [_ack(hall.feed("kp-1", f)) for f in frames]
    window = hall.state.replay["kp-1"]
    assert len(window.records) == KEEP
    recent = _ack(hall.feed("kp-1", frames[-1]))
    assert recent.reason == reasons.ALREADY_RECORDED
    assert (recent.choices, recent.seat) == (answers[-1].choices, "A-1")
    old = _ack(hall.feed("kp-1", frames[0]))  # the keypad can no longer resend it; a replayer gets this
    assert (old.reason, old.acked_type, old.ref_id, old.round) == (
        reasons.ALREADY_RECORDED,
        consts.VOTE,
        7,
        1,
    )
    assert (old.choices, old.seat) == ((), "")
    forged = kp.vote(7, 1, nonce, (consts.ABSTAIN,), counter=answers[0].counter)
    assert _nack(hall.feed("kp-1", forged)) == reasons.STALE_COUNTER
    assert hall.sitting.rounds[key].ballots[1].choices == answers[-1].choices  # nothing changed


def test_an_old_checkin_is_re_acked_with_the_sitting_and_seat() -> None:
    hall = Hall()
    hall.open_checkin()
    kp = hall.kp(2)
    checkin = kp.check_in(42, SITTING_NONCE)
    assert hall.feed("kp-2", checkin).accepted
    for _ in range(KEEP):  # repeated check-ins, each acked ALREADY_CHECKED_IN
        assert hall.feed("kp-2", kp.check_in(42, SITTING_NONCE)).accepted
    assert len(hall.state.replay["kp-2"].records) == KEEP
    again = _ack(hall.feed("kp-2", checkin))
    assert (again.reason, again.acked_type, again.ref_id, again.seat) == (
        reasons.ALREADY_RECORDED,
        consts.CHECK_IN,
        42,
        "A-2",
    )


def test_a_secret_vote_dropped_from_the_held_answers_keeps_no_digest() -> None:
    hall = Hall()
    hall.in_session()
    key = hall.add_motion(secret=True, policy=consts.LAST_PRESS)
    nonce = hall.open(key)
    kp = hall.kp(3)
    frames = [kp.vote(7, 1, nonce, ((consts.YES, consts.NO)[i % 2],)) for i in range(KEEP + 1)]
    for f in frames:
        assert hall.feed("kp-3", f).accepted
    window = hall.state.replay["kp-3"]
    first = kp.counter - KEEP
    slot = first % WINDOW
    assert first not in window.records
    assert window.blind >> slot & 1
    assert window.digests[slot * replay.DIGEST : (slot + 1) * replay.DIGEST] == bytes(replay.DIGEST)
    other = kp.vote(7, 1, nonce, (consts.ABSTAIN,), counter=first)
    assert _ack(hall.feed("kp-3", other)).reason == reasons.ALREADY_RECORDED  # changes nothing
    assert hall.sitting.rounds[key].ballots[3].choices == (consts.YES,)
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    window = hall.state.replay["kp-3"]
    for c in range(first, kp.counter + 1):
        assert window.blind >> (c % WINDOW) & 1
    assert all(r.digest is None for r in window.records.values())


def test_fork_copies_the_window_on_first_write_only() -> None:
    hall = Hall()
    hall.state.sitting = None
    _heartbeats(hall, 1, 3)
    origin = hall.state
    before = origin.replay["kp-1"].copy()
    fork = origin.fork()
    hall.state = fork
    _heartbeats(hall, 1, 2)
    assert origin.replay["kp-1"] == before
    assert fork.replay["kp-1"] is not origin.replay["kp-1"]
    assert fork.replay["kp-1"].highest == before.highest + 2
