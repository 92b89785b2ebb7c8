"""decide(): every check in order, each refusal with its reason code, and ballot merging."""

from __future__ import annotations

import pytest
from hvtest.halls import SITTING_NONCE, Hall
from hvtest.keypads import TestKeypad

from gateway.core import commands, replay, signatures
from gateway.core.apply import apply_all
from gateway.core.decide import Inbound, decide
from gateway.core.events import CheckInRecorded, DeviceHealth, FrameAccepted, VoteRecorded
from gateway.core.state import REPLAY_WINDOW, DeviceEntry
from gateway.core.tally import round_totals
from protocol import codec, consts, frames, reasons
from protocol.frames import Ack, Nack

Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN


@pytest.fixture
def hall() -> Hall:
    return Hall()


def nack_reason(decision) -> int:  # type: ignore[no-untyped-def]
    assert isinstance(decision.reply, Nack), decision
    return decision.reply.reason


def ack_reason(decision) -> int:  # type: ignore[no-untyped-def]
    assert isinstance(decision.reply, Ack), decision
    return decision.reply.reason


# ---------------------------------------------------------------- frame and identity checks


def test_malformed_frame_is_nacked_with_its_counter_when_readable(hall: Hall) -> None:
    d = hall.feed("kp-1", b"\x02\x04")
    assert nack_reason(d) == reasons.MALFORMED and d.reply.counter == 0 and not d.events
    good = hall.kp(1).check_in(42, SITTING_NONCE)
    d = hall.feed("kp-1", good[:-1])
    assert nack_reason(d) == reasons.MALFORMED
    assert d.reply.counter == hall.kp(1).counter and d.reply.nacked_type == consts.CHECK_IN


def test_version_and_type_and_topic_checks(hall: Hall) -> None:
    good = hall.kp(1).check_in(42, SITTING_NONCE)
    assert nack_reason(hall.feed("kp-1", b"\x01" + good[1:])) == reasons.BAD_VERSION
    assert nack_reason(hall.feed("kp-2", good)) == reasons.DEVICE_MISMATCH
    assert nack_reason(hall.feed("kp-1", good, channel="status")) == reasons.UNKNOWN_TYPE


def test_unknown_revoked_and_forged(hall: Hall) -> None:
    stranger = TestKeypad("kp-99")
    assert nack_reason(hall.feed("kp-99", stranger.check_in(42, SITTING_NONCE))) == reasons.UNKNOWN_DEVICE
    impostor = TestKeypad("kp-1")  # right id, wrong key
    assert nack_reason(hall.feed("kp-1", impostor.check_in(42, SITTING_NONCE))) == reasons.BAD_SIGNATURE
    hall.state.devices["kp-2"].revoked = True
    assert nack_reason(hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE))) == reasons.DEVICE_REVOKED


def test_status_is_accepted_without_a_sitting(hall: Hall) -> None:
    hall.state.sitting = None
    d = hall.feed("kp-3", hall.kp(3).status(battery=42), channel="status")
    assert ack_reason(d) == reasons.ACCEPTED and d.reply.acked_type == consts.STATUS
    health = [e for e in d.events if isinstance(e, DeviceHealth)]
    assert len(health) == 1 and health[0].battery == 42


def test_seat_sitting_and_member_checks(hall: Hall) -> None:
    data = hall.kp(1).check_in(42, SITTING_NONCE)
    assert nack_reason(hall.feed("kp-1", data)) == reasons.NO_SITTING  # sitting in setup
    hall.open_checkin()
    hall.state.devices["kp-1"].seat = None
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.SEAT_UNBOUND
    hall.state.devices["kp-1"].seat = "Z-9"  # a seat nobody sits in for this sitting
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.NOT_MEMBER
    hall.state.devices["kp-1"].seat = "A-1"
    assert ack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.ACCEPTED


# ---------------------------------------------------------------- check-in


def test_check_in_records_once_and_late(hall: Hall) -> None:
    hall.open_checkin()
    d = hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE, b"\x04\xa1\xb2\xc3"))
    assert ack_reason(d) == reasons.ACCEPTED and d.reply.seat == "A-1" and d.reply.ref_id == 42
    rec = [e for e in d.events if isinstance(e, CheckInRecorded)]
    assert rec and not rec[0].late and rec[0].card_uid == b"\x04\xa1\xb2\xc3"
    again = hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))
    assert ack_reason(again) == reasons.ALREADY_CHECKED_IN
    assert not [e for e in again.events if isinstance(e, CheckInRecorded)]
    hall.run(commands.start_session(hall.state, at=hall.now()))
    late = hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE))
    assert [e.late for e in late.events if isinstance(e, CheckInRecorded)] == [True]
    assert hall.sitting.present == 2


def test_check_in_for_another_sitting_or_when_closed(hall: Hall) -> None:
    hall.open_checkin()
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(41, SITTING_NONCE))) == reasons.WRONG_SITTING
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, b"\x00" * 8))) == reasons.WRONG_SITTING
    hall.run(commands.start_session(hall.state, at=hall.now()))
    hall.sitting.late_checkin = False
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.CHECKIN_CLOSED
    hall.run(commands.close_sitting(hall.state, at=hall.now()))
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.NO_SITTING


def test_checked_in_member_hears_already_checked_in_in_session_without_late_checkin(hall: Hall) -> None:
    """A keypad swapped in during the session does not know its member is present: its 签到 is answered
    ALREADY_CHECKED_IN (nothing recorded) even when late check-in is not allowed; others stay CHECKIN_CLOSED."""
    hall.open_checkin()
    assert ack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.ACCEPTED
    hall.run(commands.start_session(hall.state, at=hall.now()))
    hall.sitting.late_checkin = False
    again = hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))
    assert ack_reason(again) == reasons.ALREADY_CHECKED_IN and again.reply.seat == "A-1"
    assert not [e for e in again.events if isinstance(e, CheckInRecorded)]
    assert nack_reason(hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE))) == reasons.CHECKIN_CLOSED
    assert nack_reason(hall.feed("kp-1", hall.kp(1).check_in(41, SITTING_NONCE))) == reasons.WRONG_SITTING
    assert hall.sitting.present == 1


# ---------------------------------------------------------------- votes


def test_vote_checks_in_order(hall: Hall) -> None:
    hall.in_session(present=4)
    key = hall.add_motion()
    nonce = hall.sitting.rounds[key].nonce
    assert nack_reason(hall.vote(5, key, Y)) == reasons.NOT_CHECKED_IN
    assert nack_reason(hall.vote(1, key, Y)) == reasons.MOTION_NOT_OPEN  # round ready, not open
    hall.open(key)
    wrong = hall.kp(1).vote(7, 1, b"\xee" * 8, (Y,))
    assert nack_reason(hall.feed("kp-1", wrong)) == reasons.WRONG_ROUND
    other = hall.kp(1).vote(8, 1, nonce, (Y,))
    assert nack_reason(hall.feed("kp-1", other)) == reasons.WRONG_ROUND
    rating = hall.kp(1).vote(7, 1, nonce, (2,), kind=consts.RATING)
    assert nack_reason(hall.feed("kp-1", rating)) == reasons.WRONG_BALLOT
    hall.run(commands.pause_round(hall.state, key, at=hall.now()))
    assert nack_reason(hall.vote(1, key, Y)) == reasons.ROUND_PAUSED
    hall.run(commands.resume_round(hall.state, key, at=hall.now()))
    assert ack_reason(hall.vote(1, key, Y)) == reasons.ACCEPTED
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    assert nack_reason(hall.vote(2, key, N_)) == reasons.ROUND_CLOSED


def test_choice_must_be_admitted_by_the_motion(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(options=0b0110)  # yes / no only, no abstain
    hall.open(key)
    assert nack_reason(hall.vote(1, key, A)) == reasons.BAD_CHOICE
    assert ack_reason(hall.vote(1, key, N_)) == reasons.ACCEPTED


def test_named_ack_echoes_the_choice_secret_ack_does_not(hall: Hall) -> None:
    hall.in_session()
    named = hall.add_motion(7)
    hall.open(named)
    d = hall.vote(1, named, N_)
    assert d.reply.choices == (N_,) and d.reply.ref_id == 7 and d.reply.round == 1
    hall.run(commands.close_round(hall.state, named, at=hall.now()))
    secret = hall.add_motion(8, secret=True)
    hall.open(secret)
    d = hall.vote(1, secret, N_)
    assert ack_reason(d) == reasons.ACCEPTED and d.reply.choices == ()


def test_first_press_counts(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(policy=consts.FIRST_PRESS)
    hall.open(key)
    assert ack_reason(hall.vote(1, key, Y)) == reasons.ACCEPTED
    assert nack_reason(hall.vote(1, key, N_)) == reasons.FIRST_PRESS_FINAL
    assert ack_reason(hall.vote(1, key, Y)) == reasons.ALREADY_RECORDED  # pressed the same key again
    assert hall.sitting.rounds[key].ballots[1].choices == (Y,)


def test_last_press_counts_by_counter_even_out_of_order(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(policy=consts.LAST_PRESS)
    hall.open(key)
    nonce = hall.sitting.rounds[key].nonce
    kp = hall.kp(1)
    yes5 = kp.vote(7, 1, nonce, (Y,), counter=105)
    no6 = kp.vote(7, 1, nonce, (N_,), counter=106)
    yes7 = kp.vote(7, 1, nonce, (Y,), counter=107)
    assert ack_reason(hall.feed("kp-1", yes5)) == reasons.ACCEPTED
    assert ack_reason(hall.feed("kp-1", yes7)) == reasons.ALREADY_RECORDED  # same choice, newer counter
    assert ack_reason(hall.feed("kp-1", no6)) == reasons.ALREADY_RECORDED  # late and older: ignored
    assert hall.sitting.rounds[key].ballots[1].choices == (Y,)
    abstain8 = kp.vote(7, 1, nonce, (A,), counter=108)
    assert ack_reason(hall.feed("kp-1", abstain8)) == reasons.REPLACED
    assert hall.sitting.rounds[key].ballots[1].choices == (A,)


def test_item_list_merges_items_and_focus(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(kind=consts.ITEM_LIST, items=3, policy=consts.FIRST_PRESS)
    hall.open(key)
    L = consts.ITEM_LIST
    assert ack_reason(hall.vote(1, key, Y, 0, 0, kind=L)) == reasons.ACCEPTED
    assert ack_reason(hall.vote(1, key, 0, N_, 0, kind=L)) == reasons.ACCEPTED
    assert nack_reason(hall.vote(1, key, N_, 0, A, kind=L)) == reasons.FIRST_PRESS_FINAL
    assert hall.sitting.rounds[key].ballots[1].choices == (Y, N_, 0)
    assert nack_reason(hall.vote(1, key, Y, N_, kind=L)) == reasons.WRONG_BALLOT  # 2 items, motion has 3
    hall.run(commands.focus_item(hall.state, key, 2, at=hall.now()))
    assert nack_reason(hall.vote(2, key, Y, 0, 0, kind=L)) == reasons.WRONG_BALLOT  # item 0 not put
    assert ack_reason(hall.vote(2, key, 0, 0, A, kind=L)) == reasons.ACCEPTED


# ---------------------------------------------------------------- replay


def test_retransmission_is_reacked_never_counted_twice(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion()
    hall.open(key)
    data = hall.kp(1).vote(7, 1, hall.sitting.rounds[key].nonce, (Y,))
    first = hall.feed("kp-1", data)
    again = hall.feed("kp-1", data)
    assert ack_reason(first) == reasons.ACCEPTED and ack_reason(again) == reasons.ALREADY_RECORDED
    assert again.reply.choices == (Y,) and again.events == ()
    assert sum(isinstance(e, VoteRecorded) for e in hall.log) == 1
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    late = hall.feed("kp-1", data)  # the ack was lost; the round has closed since
    assert ack_reason(late) == reasons.ALREADY_RECORDED
    assert round_totals(hall.sitting.rounds[key], 1, 1) == ((0, 1, 0, 0),)


def test_an_exact_retransmission_is_not_verified_again_anything_else_is(hall: Hall) -> None:
    verified: list[bytes] = []

    def verify(key: bytes, message: bytes, signature: bytes) -> None:
        verified.append(message)
        signatures.verify(key, message, signature)

    def feed(device_id: str, data: bytes):  # type: ignore[no-untyped-def]
        d = decide(hall.state, Inbound(device_id, "up", data, hall.now()), verify=verify)
        apply_all(hall.state, d.events)
        return d

    hall.in_session()
    key = hall.add_motion()
    hall.open(key)
    nonce = hall.sitting.rounds[key].nonce
    data = hall.kp(1).vote(7, 1, nonce, (Y,), counter=40)
    assert ack_reason(feed("kp-1", data)) == reasons.ACCEPTED and len(verified) == 1
    assert ack_reason(feed("kp-1", data)) == reasons.ALREADY_RECORDED and len(verified) == 1
    forged = data[:-1] + bytes([data[-1] ^ 1])  # same counter, other bytes: verified, and refused
    assert nack_reason(feed("kp-1", forged)) == reasons.BAD_SIGNATURE and len(verified) == 2
    other = hall.kp(1).vote(7, 1, nonce, (N_,), counter=40)  # same counter, validly signed
    assert nack_reason(feed("kp-1", other)) == reasons.STALE_COUNTER and len(verified) == 3
    hall.state.devices["kp-1"].revoked = True  # a revoked keypad's retransmission is refused first
    assert nack_reason(feed("kp-1", data)) == reasons.DEVICE_REVOKED and len(verified) == 3


def test_counter_reuse_and_stale_counters_are_refused(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(policy=consts.LAST_PRESS)
    hall.open(key)
    nonce = hall.sitting.rounds[key].nonce
    kp = hall.kp(1)
    assert hall.feed("kp-1", kp.vote(7, 1, nonce, (Y,), counter=500)).accepted
    reused = kp.vote(7, 1, nonce, (N_,), counter=500)
    assert nack_reason(hall.feed("kp-1", reused)) == reasons.STALE_COUNTER
    ancient = kp.vote(7, 1, nonce, (N_,), counter=500 - REPLAY_WINDOW)
    assert nack_reason(hall.feed("kp-1", ancient)) == reasons.STALE_COUNTER
    inside = kp.vote(7, 1, nonce, (N_,), counter=500 - REPLAY_WINDOW + 1)
    assert (
        ack_reason(hall.feed("kp-1", inside)) == reasons.ALREADY_RECORDED
    )  # fresh but older than the press it lost to
    assert hall.sitting.rounds[key].ballots[1].choices == (Y,)


def test_replay_window_forgets_old_counters(hall: Hall) -> None:
    hall.state.sitting = None
    kp = hall.kp(1)
    for _ in range(REPLAY_WINDOW + 10):
        assert hall.feed("kp-1", kp.status(), channel="status").accepted
    window = hall.state.replay["kp-1"]
    assert window.highest == kp.counter
    accepted = window.accepted()
    assert len(accepted) == REPLAY_WINDOW
    assert min(accepted) == kp.counter - REPLAY_WINDOW + 1
    assert window.records == {}  # a heartbeat's re-ack needs only its type and counter


def test_every_accepted_frame_is_remembered(hall: Hall) -> None:
    hall.open_checkin()
    d = hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))
    fa = [e for e in d.events if isinstance(e, FrameAccepted)]
    assert len(fa) == 1 and fa[0].accepted.counter == hall.kp(1).counter
    refused = hall.feed("kp-2", hall.kp(2).check_in(41, SITTING_NONCE))
    assert not refused.events


# ---------------------------------------------------------------- secret rounds


def test_secret_round_close_erases_every_link(hall: Hall) -> None:
    hall.in_session()
    key = hall.add_motion(secret=True, policy=consts.LAST_PRESS)
    hall.open(key)
    for i, choice in [(1, Y), (2, N_), (3, Y), (4, A)]:
        assert hall.vote(i, key, choice).accepted
    run = hall.sitting.rounds[key]
    assert len(run.ballots) == 4  # needed for last-press while open
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    assert run.ballots == {}
    assert run.participants == frozenset({1, 2, 3, 4})
    assert run.totals == ((0, 2, 1, 1),)
    for window in hall.state.replay.values():
        for counter, acc in window.records.items():
            if acc.frame_type == consts.VOTE:
                assert acc.digest is None and acc.choices == ()
                assert window.blind >> (counter % REPLAY_WINDOW) & 1
                slot = (counter % REPLAY_WINDOW) * replay.DIGEST
                assert window.digests[slot : slot + replay.DIGEST] == bytes(replay.DIGEST)


def test_wrong_frame_kinds_decode_errors_never_escape(hall: Hall) -> None:
    ack = codec.encode(frames.Ack(1, reasons.ACCEPTED, consts.VOTE))
    assert nack_reason(hall.feed("kp-1", ack)) == reasons.UNKNOWN_TYPE
    hall.state.devices["kp-9"] = DeviceEntry("kp-9", b"\x04" + b"\x00" * 64, "A-1")
    garbage_key = hall.feed("kp-9", TestKeypad("kp-9").check_in(42, SITTING_NONCE))
    assert nack_reason(garbage_key) == reasons.BAD_SIGNATURE


def test_card_on_record_is_required_unless_the_body_allows_keypads_without_readers(hall: Hall) -> None:
    card, other = bytes.fromhex("04a1b2c3"), bytes.fromhex("04d5e6f7")
    hall.sitting.cards = {1: card, 2: other}
    hall.open_checkin()
    refuse = [hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE, c)) for c in (b"", other)]
    assert [nack_reason(d) for d in refuse] == [reasons.CARD_MISMATCH] * 2 and not any(
        d.events for d in refuse
    )
    assert (
        nack_reason(hall.feed("kp-3", hall.kp(3).check_in(42, SITTING_NONCE, card))) == reasons.CARD_MISMATCH
    )
    hall.sitting.readerless_checkin = True  # the body's keypads have no readers
    assert ack_reason(hall.feed("kp-1", hall.kp(1).check_in(42, SITTING_NONCE))) == reasons.ACCEPTED
    assert (
        nack_reason(hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE, card))) == reasons.CARD_MISMATCH
    )
    assert ack_reason(hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE, other))) == reasons.ACCEPTED
    assert set(hall.sitting.attendance) == {1, 2}
