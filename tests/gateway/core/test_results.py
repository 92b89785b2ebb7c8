"""Results of closed rounds through the core: passing rule, livelihood selection, ratings."""

from __future__ import annotations

from hvtest.halls import Hall

from gateway.core import commands
from gateway.core.results import compute_result
from gateway.rules import LIVELIHOOD_PROJECT
from protocol import codec, consts

Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN


def close(hall: Hall, key: tuple[int, int]):  # type: ignore[no-untyped-def]
    hall.run(commands.close_round(hall.state, key, at=hall.now()))
    sitting = hall.sitting
    result = sitting.rounds[key].result
    assert result is not None
    assert (
        compute_result(sitting.motions[key[0]], sitting.rounds[key]) == result
    )  # deterministic from the frozen round
    return result


def test_resolution_needs_more_than_half_of_all_members() -> None:
    hall = Hall(members=9)
    hall.in_session(present=8)
    key = hall.add_motion()
    hall.open(key)
    for i, c in enumerate([Y, Y, Y, Y, N_, A, N_], start=1):  # 4 yes of 9 members: not more than half
        hall.vote(i, key, c)
    result = close(hall, key)
    assert result.outcome == consts.OUTCOME_FAILED
    assert (result.expected, result.present, result.voted, result.not_pressed) == (9, 8, 7, 1)
    assert result.items[0].counts == (4, 2, 1)
    assert "全体" in result.rule_zh and "all members" in result.rule_en
    frame = result.frame()
    assert codec.decode(codec.encode(frame)) == frame

    hall.run(commands.rerun(hall.state, 7, nonce=hall.nonce(), at=hall.now()))
    hall.open((7, 2))
    for i in range(1, 6):
        hall.vote(i, (7, 2), Y)
    assert close(hall, (7, 2)).outcome == consts.OUTCOME_PASSED


def test_livelihood_12_candidates_select_10_by_yes_votes() -> None:
    """The county example: 12 candidates, 10 to select, more than half of those present."""
    hall = Hall(members=9)
    hall.in_session()
    key = hall.add_motion(kind=consts.ITEM_LIST, items=12, secret=True, rule=LIVELIHOOD_PROJECT, select_k=10)
    hall.open(key)
    # Items 0..9 get 9..6 yes votes; item 10 gets 5 (passes, ranked out of 10 places), item 11 gets 2.
    yes_by_item = [9, 9, 8, 8, 8, 7, 7, 7, 6, 6, 5, 2]
    for member in range(1, 10):
        choices = tuple(Y if member <= yes else N_ for yes in yes_by_item)
        assert hall.vote(member, key, *choices, kind=consts.ITEM_LIST).accepted
    result = close(hall, key)
    outcomes = [item.outcome for item in result.items]
    assert outcomes[:10] == [consts.OUTCOME_SELECTED] * 10
    assert outcomes[10] == consts.OUTCOME_NOT_SELECTED  # passed (5 of 9 present) but ranked out
    assert outcomes[11] == consts.OUTCOME_FAILED
    assert result.outcome == consts.OUTCOME_SELECTED


def test_tie_at_the_cut_is_reported() -> None:
    hall = Hall(members=5)
    hall.in_session()
    key = hall.add_motion(kind=consts.ITEM_LIST, items=3, rule=LIVELIHOOD_PROJECT, select_k=1)
    hall.open(key)
    for member in range(1, 6):
        hall.vote(member, key, Y, Y, N_, kind=consts.ITEM_LIST)
    result = close(hall, key)
    assert result.outcome == consts.OUTCOME_TIE
    assert [i.outcome for i in result.items] == [
        consts.OUTCOME_TIE,
        consts.OUTCOME_TIE,
        consts.OUTCOME_FAILED,
    ]
    assert "重新表决" in result.note_zh


def test_tie_note_names_the_tied_candidates_by_their_labels() -> None:
    hall = Hall(members=5)
    hall.in_session()
    labels = tuple(f"项目{i}" for i in range(1, 13))
    key = hall.add_motion(
        kind=consts.ITEM_LIST, items=12, rule=LIVELIHOOD_PROJECT, select_k=10, labels=labels
    )
    hall.open(key)
    yes_by_item = [5] * 9 + [4, 4, 3]  # 项目10 and 项目11 tie for the 10th place
    for member in range(1, 6):
        hall.vote(member, key, *(Y if member <= y else N_ for y in yes_by_item), kind=consts.ITEM_LIST)
    result = close(hall, key)
    assert result.outcome == consts.OUTCOME_TIE
    assert "项目10, 项目11" in result.note_zh and "项目10, 项目11" in result.note_en
    assert "(9, 10)" not in result.note_zh


def test_livelihood_passes_with_half_of_those_present() -> None:
    hall = Hall(members=4)
    hall.in_session()
    key = hall.add_motion(kind=consts.ITEM_LIST, items=2, rule=LIVELIHOOD_PROJECT)
    hall.open(key)
    for member, choices in enumerate([(Y, Y), (Y, N_), (N_, N_), (A, N_)], start=1):
        hall.vote(member, key, *choices, kind=consts.ITEM_LIST)
    result = close(hall, key)  # 到会代表半数以上赞成: 2 of 4 passes, 1 of 4 does not
    assert [i.outcome for i in result.items] == [consts.OUTCOME_PASSED, consts.OUTCOME_FAILED]
    assert result.rule_zh.startswith("到会代表半数以上赞成")


def test_rating_carries_by_more_than_half_of_members() -> None:
    hall = Hall(members=6)
    hall.in_session()
    key = hall.add_motion(kind=consts.RATING, items=2, options=0b11100)  # 满意 / 基本满意 / 不满意
    hall.open(key)
    grades = [(2, 4), (2, 4), (2, 3), (3, 4), (3, 4), (4, 4)]
    for member, (first, second) in enumerate(grades, start=1):
        hall.vote(member, key, first, second, kind=consts.RATING)
    result = close(hall, key)
    # item 0: 满意 3 of 6 is not more than half; 满意+基本满意 = 5 > 3 -> 基本满意
    assert result.items[0].outcome == consts.BASIC and result.items[0].counts == (0, 3, 2, 1)
    # item 1: 满意 0, 基本满意 1 -> 不满意
    assert result.items[1].outcome == consts.UNSATISFIED
    assert result.items[0].label_zh == "基本满意"
