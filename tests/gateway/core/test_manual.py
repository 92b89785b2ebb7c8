"""Manual fallback in the core: enter (clerk or chair), confirm or reject by the other person, the result."""

from __future__ import annotations

import pytest
from hvtest.halls import Hall

from gateway.core import commands, manual
from gateway.core.errors import CommandError, TransitionError
from gateway.core.events import ManualConfirmed, ManualEntered, ManualRejected, ResultComputed
from gateway.core.states import RoundState
from gateway.rules import CONGRESS_RESOLUTION
from protocol import consts

Y, N_ = consts.YES, consts.NO


def _ready(members: int = 9, present: int | None = None) -> tuple[Hall, tuple[int, int]]:
    hall = Hall(members=members)
    hall.in_session(present=present)
    return hall, hall.add_motion()


def _enter(
    hall: Hall, key: tuple[int, int], counts: list[list[int]], *, by: str = "秘书长", role: str = "clerk"
) -> None:
    hall.run(
        manual.enter_manual(
            hall.state,
            key,
            counts=counts,
            method="show_of_hands",
            reason="表决器故障",
            by=by,
            role=role,
            at=hall.now(),
        )
    )


def test_clerk_enters_chair_confirms_result_by_the_rule() -> None:
    hall, key = _ready(members=9)  # all 9 present; 过半数 of 9 members: 5 yes passes
    _enter(hall, key, [[5, 3, 1]])
    run = hall.sitting.rounds[key]
    assert run.state is RoundState.MANUAL and run.manual is not None
    assert run.manual.present == 9 and run.manual.entered_role == "clerk"
    confirmed, computed = manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now())
    assert isinstance(confirmed, ManualConfirmed) and isinstance(computed, ResultComputed)
    hall.run([confirmed, computed])
    run = hall.sitting.rounds[key]
    assert run.state is RoundState.CLOSED and run.manual is None
    r = run.result
    assert r is not None and r.manual is not None and r.confirmed_by == "主任"
    assert r.outcome == consts.OUTCOME_PASSED and r.items[0].counts == (5, 3, 1)
    assert (r.expected, r.present, r.voted, r.not_pressed) == (9, 9, 9, 0)
    assert r.rule_zh == CONGRESS_RESOLUTION.describe("zh")
    hall.run(commands.announce_round(hall.state, key, at=hall.now()))
    assert hall.sitting.rounds[key].state is RoundState.ANNOUNCED


def test_four_yes_of_nine_fails_and_not_pressed_is_the_rest() -> None:
    hall, key = _ready(members=9)
    _enter(hall, key, [[4, 1, 0]])
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    r = hall.sitting.rounds[key].result
    assert r is not None and r.outcome == consts.OUTCOME_FAILED and (r.voted, r.not_pressed) == (5, 4)


def test_same_person_or_same_role_cannot_confirm_or_reject() -> None:
    hall, key = _ready()
    _enter(hall, key, [[5, 0, 0]])
    for by, role, code in [
        ("秘书长", "chair", "MANUAL_SAME_PERSON"),
        ("另一书记员", "clerk", "MANUAL_CONFIRMER"),
    ]:
        with pytest.raises(CommandError) as err:
            manual.confirm_manual(hall.state, key, by=by, role=role, at=hall.now())
        assert err.value.code == code
        with pytest.raises(CommandError) as err:
            manual.reject_manual(hall.state, key, by=by, role=role, reason="数错", at=hall.now())
        assert err.value.code == code
    for role in ("technician", "display"):
        with pytest.raises(CommandError) as err:
            manual.confirm_manual(hall.state, key, by="x", role=role, at=hall.now())
        assert err.value.code == "FORBIDDEN"


def test_chairs_own_entry_needs_the_clerk() -> None:
    hall, key = _ready()
    _enter(hall, key, [[6, 0, 0]], by="主任", role="chair")
    with pytest.raises(CommandError) as err:
        manual.confirm_manual(hall.state, key, by="副主任", role="chair", at=hall.now())
    assert err.value.code == "MANUAL_CONFIRMER"
    hall.run(manual.confirm_manual(hall.state, key, by="秘书长", role="clerk", at=hall.now()))
    result = hall.sitting.rounds[key].result
    assert result is not None and result.confirmed_by == "秘书长"


@pytest.mark.parametrize(
    ("counts", "code"),
    [
        ([[-1, 0, 0]], "MANUAL_BAD_COUNTS"),
        ([[1, 0]], "MANUAL_BAD_COUNTS"),
        ([[1, 0, 0], [1, 0, 0]], "MANUAL_BAD_COUNTS"),
        ([[5, 4, 1]], "MANUAL_OVER_PRESENT"),  # 10 > 实到 9
    ],
)
def test_wrong_counts_are_refused_with_a_reason(counts: list[list[int]], code: str) -> None:
    hall, key = _ready()
    with pytest.raises(CommandError) as err:
        _enter(hall, key, counts)
    assert err.value.code == code and err.value.message[0] >= "\u4e00"  # Chinese first
    assert hall.sitting.rounds[key].state is RoundState.READY


def test_a_choice_not_offered_and_a_missing_reason_or_method_are_refused() -> None:
    hall, key = _ready()
    hall.add_motion(8, options=0b0110)  # yes / no only
    with pytest.raises(CommandError) as err:
        _enter(hall, (8, 1), [[3, 2, 1]])
    assert err.value.code == "MANUAL_BAD_COUNTS"
    for method, reason, code in [
        ("show_of_hands", "  ", "MANUAL_NO_REASON"),
        ("vibes", "x", "MANUAL_BAD_METHOD"),
    ]:
        with pytest.raises(CommandError) as err:
            manual.enter_manual(
                hall.state,
                key,
                counts=[[1, 0, 0]],
                method=method,
                reason=reason,
                by="a",
                role="clerk",
                at=1.0,
            )
        assert err.value.code == code


def test_reject_keeps_the_round_manual_and_a_new_entry_replaces_the_old() -> None:
    hall, key = _ready()
    _enter(hall, key, [[2, 2, 2]])
    events = hall.run(
        manual.reject_manual(hall.state, key, by="主任", role="chair", reason="数错了", at=hall.now())
    )
    assert isinstance(events[0], ManualRejected) and events[0].entered_by == "秘书长"
    run = hall.sitting.rounds[key]
    assert run.state is RoundState.MANUAL and run.manual is None
    with pytest.raises(CommandError) as err:
        manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now())
    assert err.value.code == "NO_MANUAL_ENTRY"
    _enter(hall, key, [[1, 1, 1]])
    _enter(hall, key, [[7, 1, 1]])
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    result = hall.sitting.rounds[key].result
    assert result is not None and result.items[0].counts == (7, 1, 1)


def test_manual_replaces_the_keypad_tally_of_a_closed_round() -> None:
    hall, key = _ready(members=5)
    hall.open(key)
    hall.vote(1, key, Y)
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    keypad = hall.sitting.rounds[key].result
    assert keypad is not None and keypad.outcome == consts.OUTCOME_FAILED  # 1 yes of 5
    events = hall.run(
        manual.enter_manual(
            hall.state,
            key,
            counts=[[4, 1, 0]],
            method="paper",
            reason="多台表决器无响应",
            by="秘书长",
            role="clerk",
            at=hall.now(),
        )
    )
    assert isinstance(events[0], ManualEntered) and hall.sitting.rounds[key].result is None  # set aside
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    r = hall.sitting.rounds[key].result
    assert r is not None and r.manual is not None and r.manual.method == "paper"
    assert r.outcome == consts.OUTCOME_PASSED and r.items[0].counts == (4, 1, 0)
    with pytest.raises(CommandError) as err:  # confirmed: a correction is a re-run
        _enter(hall, key, [[0, 5, 0]])
    assert err.value.code == "MANUAL_CONFIRMED"


def test_live_or_announced_rounds_cannot_be_entered() -> None:
    hall, key = _ready()
    hall.open(key)
    with pytest.raises(TransitionError):
        _enter(hall, key, [[1, 0, 0]])
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    hall.run(commands.announce_round(hall.state, key, at=hall.now()))
    with pytest.raises(TransitionError):
        _enter(hall, key, [[1, 0, 0]])


def test_item_list_and_rating_counts_per_item() -> None:
    hall, _ = _ready(members=10)
    key = hall.add_motion(9, kind=consts.ITEM_LIST, items=2)
    _enter(hall, key, [[6, 2, 2], [3, 5, 2]])
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    r = hall.sitting.rounds[key].result
    assert r is not None and [i.outcome for i in r.items] == [consts.OUTCOME_PASSED, consts.OUTCOME_FAILED]
    rating = hall.add_motion(10, kind=consts.RATING, items=1, options=0b11110)
    with pytest.raises(CommandError):
        _enter(hall, rating, [[1, 2, 3]])  # a rating has four grades per item
    _enter(hall, rating, [[2, 5, 2, 1]])
    hall.run(manual.confirm_manual(hall.state, rating, by="主任", role="chair", at=hall.now()))
    rated = hall.sitting.rounds[rating].result
    assert rated is not None and rated.items[0].counts == (2, 5, 2, 1)


def test_deciding_on_a_fork_leaves_the_committed_state_alone() -> None:
    hall, key = _ready()
    fork = hall.state.fork()
    from gateway.core.apply import apply_all

    apply_all(
        fork,
        manual.enter_manual(
            fork, key, counts=[[5, 0, 0]], method="paper", reason="r", by="a", role="clerk", at=1.0
        ),
    )
    assert hall.sitting.rounds[key].state is RoundState.READY and hall.sitting.rounds[key].manual is None
    assert fork.sitting is not None and fork.sitting.rounds[key].state is RoundState.MANUAL


def test_sitting_cannot_close_while_a_manual_round_awaits_counts() -> None:
    hall, key = _ready()
    _enter(hall, key, [[5, 0, 0]])
    with pytest.raises(CommandError) as err:
        commands.close_sitting(hall.state, at=hall.now())
    assert err.value.code == "MANUAL_PENDING"
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    hall.run(commands.close_sitting(hall.state, at=hall.now()))


def test_the_live_picture_shows_no_keypad_figures_while_manual() -> None:
    from gateway.core.picture import live_picture

    hall, key = _ready(members=5)
    hall.open(key)
    hall.vote(1, key, Y)
    hall.vote(2, key, N_)
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    _enter(hall, key, [[4, 1, 0]])
    picture = live_picture("h", 1, hall.state, ())
    rnd = picture["round"]
    assert rnd["state"] == "manual" and rnd["totals"] is None and rnd["voted"] == 0 and rnd["result"] is None
    hall.run(manual.confirm_manual(hall.state, key, by="主任", role="chair", at=hall.now()))
    rnd = live_picture("h", 2, hall.state, ())["round"]
    assert rnd["totals"] == [[4, 1, 0]] and rnd["result"]["manual"] is True
    assert (rnd["voted"], rnd["not_pressed"]) == (5, 0)
    assert rnd["result"]["manual_method"] == "show_of_hands"


def test_after_a_rejection_the_closed_rounds_present_still_bounds_the_counts() -> None:
    hall, key = _ready(members=5, present=4)
    hall.open(key)
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    hall.check_in(5)  # a late check-in after the close does not raise the round's 实到
    _enter(hall, key, [[4, 0, 0]])
    hall.run(manual.reject_manual(hall.state, key, by="主任", role="chair", reason="重数", at=hall.now()))
    with pytest.raises(CommandError) as err:
        _enter(hall, key, [[5, 0, 0]])
    assert err.value.code == "MANUAL_OVER_PRESENT"
