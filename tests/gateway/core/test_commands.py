"""Chair commands: quorum to open, one live round, re-runs keep every round, focus, bad motions."""

from __future__ import annotations

import pytest
from hvtest.halls import Hall

from gateway.core import commands
from gateway.core.errors import CommandError
from gateway.core.events import ResultComputed, RoundClosed, RoundCreated, RoundOpened
from gateway.core.state import MotionSpec
from gateway.core.states import RoundState, SittingState
from gateway.rules import CONGRESS_RESOLUTION, STANDING_COMMITTEE_QUORUM, ChairOverride
from protocol import consts

Y, N_ = consts.YES, consts.NO


def test_opening_without_quorum_is_refused() -> None:
    hall = Hall(members=9)  # congress: 三分之二以上 of 9 -> 6 needed
    hall.in_session(present=5)
    key = hall.add_motion()
    with pytest.raises(CommandError) as err:
        commands.open_round(hall.state, key, at=hall.now())
    assert err.value.code == "QUORUM_NOT_MET"
    assert hall.sitting.rounds[key].state is RoundState.READY


def test_quorum_boundary_and_standing_committee_rule() -> None:
    hall = Hall(members=9)
    hall.in_session(present=6)
    key = hall.add_motion()
    events, decision = commands.open_round(hall.state, key, at=hall.now())
    assert not decision.override_used
    opened = events[0]
    assert isinstance(opened, RoundOpened) and (opened.expected, opened.present) == (
        9,
        6,
    )  # exactly 2/3 proceeds
    sc = Hall(members=10, quorum=STANDING_COMMITTEE_QUORUM)  # more than half: 6 of 10
    sc.in_session(present=5)
    k2 = sc.add_motion()
    with pytest.raises(CommandError):
        commands.open_round(sc.state, k2, at=sc.now())
    sc.check_in(6)
    commands.open_round(sc.state, k2, at=sc.now())


def test_chair_override_only_where_allowed_and_recorded() -> None:
    hall = Hall(members=9)
    hall.in_session(present=3)
    key = hall.add_motion()
    override = ChairOverride(by="主任", reason="紧急事项")
    with pytest.raises(CommandError) as err:
        commands.open_round(hall.state, key, at=hall.now(), override=override)
    assert err.value.code == "QUORUM_OVERRIDE_NOT_ALLOWED"
    hall.sitting.quorum_override_allowed = True
    events, decision = commands.open_round(hall.state, key, at=hall.now(), override=override)
    assert decision.override_used
    hall.run(events)
    assert hall.sitting.rounds[key].quorum_override


def test_only_one_live_round_and_sitting_must_be_in_session() -> None:
    hall = Hall()
    hall.open_checkin()
    hall.check_in(1, 2, 3, 4, 5)
    a = hall.add_motion(7)
    with pytest.raises(CommandError) as err:
        commands.open_round(hall.state, a, at=hall.now())
    assert err.value.code == "NOT_IN_SESSION"
    hall.run(commands.start_session(hall.state, at=hall.now()))
    b = hall.add_motion(8)
    hall.open(a)
    with pytest.raises(CommandError) as err:
        commands.open_round(hall.state, b, at=hall.now())
    assert err.value.code == "ROUND_LIVE"
    with pytest.raises(CommandError) as err:
        commands.close_sitting(hall.state, at=hall.now())
    assert err.value.code == "ROUND_LIVE"
    hall.run(commands.pause_round(hall.state, a, at=hall.now()))
    with pytest.raises(CommandError):
        commands.open_round(hall.state, b, at=hall.now())  # paused is still live
    hall.run(commands.close_round(hall.state, a, at=hall.now()))
    hall.open(b)


def test_rerun_creates_a_new_round_and_keeps_the_old() -> None:
    hall = Hall()
    hall.in_session()
    key = hall.add_motion()
    with pytest.raises(CommandError) as err:
        commands.rerun(hall.state, 7, nonce=hall.nonce(), at=hall.now())
    assert err.value.code == "ROUND_NOT_CLOSED"
    hall.open(key)
    hall.vote(1, key, Y)
    hall.vote(2, key, N_)
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    hall.run(commands.announce_round(hall.state, key, at=hall.now()))
    events = hall.run(commands.rerun(hall.state, 7, nonce=hall.nonce(), at=hall.now()))
    assert isinstance(events[0], RoundCreated) and events[0].round == (7, 2)
    second = hall.sitting.rounds[(7, 2)]
    assert second.nonce != hall.sitting.rounds[key].nonce and second.state is RoundState.READY
    hall.open((7, 2))
    old_nonce_vote = hall.kp(3).vote(7, 1, hall.sitting.rounds[key].nonce, (Y,))
    assert hall.feed("kp-3", old_nonce_vote).reply.reason == 0x36  # ROUND_CLOSED: a vote for round 1
    assert hall.vote(3, (7, 2), Y).accepted
    assert hall.sitting.rounds[key].state is RoundState.ANNOUNCED
    assert len(hall.sitting.rounds[key].ballots) == 2 and len(second.ballots) == 1
    with pytest.raises(CommandError) as err:
        commands.rerun(hall.state, 99, nonce=hall.nonce(), at=hall.now())
    assert err.value.code == "NO_SUCH_MOTION"


def test_close_round_freezes_totals_and_not_pressed() -> None:
    hall = Hall(members=5)
    hall.in_session()
    key = hall.add_motion()
    hall.open(key)
    hall.vote(1, key, Y)
    hall.vote(2, key, Y)
    hall.vote(3, key, N_)
    closed, computed = commands.close_round(hall.state, key, at=hall.now())
    assert isinstance(closed, RoundClosed) and isinstance(computed, ResultComputed)
    assert computed.result.outcome == consts.OUTCOME_FAILED  # 2 yes of 5 members
    assert closed.totals == ((0, 2, 1, 0),) and closed.participants == frozenset({1, 2, 3})
    assert not closed.secret
    hall.run([closed, computed])
    assert hall.sitting.current is None
    assert hall.sitting.rounds[key].result == computed.result
    assert len(hall.sitting.rounds[key].ballots) == 3  # named: per-seat choices are kept


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (MotionSpec(7, "x", 9, 1, 0b1110, 1, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
        (MotionSpec(7, "x", consts.YES_NO_ABSTAIN, 2, 0b1110, 1, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
        (MotionSpec(7, "x", consts.ITEM_LIST, 33, 0b1110, 1, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
        (MotionSpec(7, "x", consts.YES_NO_ABSTAIN, 1, 0b10000, 1, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
        (MotionSpec(7, "x", consts.YES_NO_ABSTAIN, 1, 0b1110, 3, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
        (MotionSpec(0, "x", consts.YES_NO_ABSTAIN, 1, 0b1110, 1, False, CONGRESS_RESOLUTION), "BAD_MOTION"),
    ],
)
def test_bad_motions_are_refused(spec: MotionSpec, code: str) -> None:
    hall = Hall()
    with pytest.raises(CommandError) as err:
        commands.add_motion(hall.state, spec, nonce=hall.nonce(), at=hall.now())
    assert err.value.code == code


def test_duplicate_motion_bad_nonce_focus_and_closed_sitting() -> None:
    hall = Hall()
    hall.in_session()
    hall.add_motion(7, kind=consts.ITEM_LIST, items=3)
    with pytest.raises(CommandError) as err:
        hall.add_motion(7)
    assert err.value.code == "DUPLICATE_MOTION"
    spec = MotionSpec(8, "x", consts.YES_NO_ABSTAIN, 1, 0b1110, 1, False, CONGRESS_RESOLUTION)
    with pytest.raises(CommandError) as err:
        commands.add_motion(hall.state, spec, nonce=b"short", at=hall.now())
    assert err.value.code == "BAD_NONCE"
    with pytest.raises(CommandError) as err:
        commands.focus_item(hall.state, (7, 1), 3, at=hall.now())
    assert err.value.code == "BAD_ITEM"
    with pytest.raises(CommandError) as err:
        commands.open_round(hall.state, (9, 1), at=hall.now())
    assert err.value.code == "NO_SUCH_ROUND"
    hall.run(commands.close_sitting(hall.state, at=hall.now()))
    assert hall.sitting.state is SittingState.CLOSED
    with pytest.raises(CommandError) as err:
        commands.add_motion(hall.state, spec, nonce=hall.nonce(), at=hall.now())
    assert err.value.code == "SITTING_CLOSED"


def test_commands_need_a_sitting() -> None:
    hall = Hall()
    hall.state.sitting = None
    with pytest.raises(CommandError) as err:
        commands.open_checkin(hall.state, at=1.0)
    assert err.value.code == "NO_SITTING"


def test_livelihood_list_needs_the_20_percent_margin() -> None:
    hall = Hall()
    hall.in_session()
    with pytest.raises(CommandError) as err:
        hall.add_motion(7, kind=consts.ITEM_LIST, items=11, select_k=10)  # 11 < ceil(1.2 x 10)
    assert err.value.code == "CANDIDATE_MARGIN"
    hall.add_motion(8, kind=consts.ITEM_LIST, items=12, select_k=10)
    with pytest.raises(CommandError) as err:
        hall.add_motion(9, select_k=1)
    assert err.value.code == "BAD_MOTION"
