"""Livelihood-project ballot: the 20% candidate margin, selection up to K, ties at the cut."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    CONGRESS_RESOLUTION,
    LIVELIHOOD_PROJECT,
    CandidateMarginError,
    CandidateTally,
    CountsInconsistent,
    DuplicateCandidate,
    InvalidRule,
    InvalidSeats,
    Selection,
    Standing,
    check_candidate_margin,
    minimum_candidates,
    select_projects,
)

# (candidates, k, ok, minimum)
MARGIN = [
    # 浚县: 15 suggestions screened to 12 candidates (15 >= ceil(1.2 x 12) = 15) ...
    (15, 12, True, 15),
    # ... and 12 candidates for the 10 projects the congress selected (12 >= ceil(12) = 12)
    (12, 10, True, 12),
    # 10 to select from 11 candidates: refused by the 20% margin (11 < 12)
    (11, 10, False, 12),
    # 鹤壁 seven towns: 77 candidates, 61 selected (77 >= ceil(73.2) = 74)
    (77, 61, True, 74),
    (74, 61, True, 74),
    (73, 61, False, 74),
    # boundaries of ceil(6K/5)
    (2, 1, True, 2),  # ceil(1.2) = 2
    (1, 1, False, 2),
    (6, 5, True, 6),  # exactly 6 = 1.2 x 5
    (5, 4, True, 5),  # ceil(4.8)
    (4, 3, True, 4),  # ceil(3.6)
    (3, 3, False, 4),
    (0, 3, False, 4),
]


@pytest.mark.parametrize(("candidates", "k", "ok", "minimum"), MARGIN)
def test_candidate_margin(candidates: int, k: int, ok: bool, minimum: int) -> None:
    assert minimum_candidates(k) == minimum
    if ok:
        check = check_candidate_margin(candidates, k)
        assert (check.candidates, check.k, check.minimum) == (candidates, k, minimum)
    else:
        with pytest.raises(CandidateMarginError) as err:
            check_candidate_margin(candidates, k)
        assert err.value.code == "CANDIDATE_MARGIN"
        assert (err.value.candidates, err.value.k, err.value.minimum) == (candidates, k, minimum)


def test_margin_accepts_the_list_of_ids() -> None:
    ids = [f"P{i:02d}" for i in range(12)]
    assert check_candidate_margin(ids, 10).candidates == 12
    with pytest.raises(CandidateMarginError):
        check_candidate_margin(ids[:11], 10)
    with pytest.raises(DuplicateCandidate) as err:
        check_candidate_margin([*ids, "P03"], 10)
    assert err.value.code == "DUPLICATE_CANDIDATE"


def test_margin_is_configurable() -> None:
    assert minimum_candidates(10, Fraction(1, 4)) == 13
    assert minimum_candidates(10, 0) == 10
    check_candidate_margin(13, 10, Fraction(1, 4))


@pytest.mark.parametrize("k", [0, -1, True, 1.5, "10"])
def test_k_must_be_positive(k: int) -> None:
    with pytest.raises(InvalidSeats) as err:
        check_candidate_margin(12, k)
    assert err.value.code == "INVALID_SEATS"
    with pytest.raises(InvalidSeats):
        select_projects([CandidateTally("A", 1)], k, 1, expected=1)


def test_negative_candidate_count_is_refused() -> None:
    with pytest.raises(CountsInconsistent):
        check_candidate_margin(-1, 1)


def ballot(yes: dict[str, int]) -> list[CandidateTally]:
    return [CandidateTally(cid, y) for cid, y in yes.items()]


def ids(outcomes: tuple[object, ...]) -> list[str]:
    return [o.candidate_id for o in outcomes]  # type: ignore[attr-defined]


def test_county_example_twelve_candidates_ten_selected() -> None:
    # 浚县 2020: 12 candidate projects, the congress selected 10. 220 deputies, 205 present.
    yes = {
        "游园": 150, "低保": 198, "道路": 190, "空气": 187, "供水": 185, "学校": 180,
        "医院": 176, "路灯": 170, "公交": 168, "养老": 160, "菜市场": 140, "停车": 120,
    }  # fmt: skip
    sel = select_projects(ballot(yes), 10, 205, expected=220)
    assert sel.is_final and sel.tie is None and sel.tied == ()
    assert sel.selected_ids == (
        "低保",
        "道路",
        "空气",
        "供水",
        "学校",
        "医院",
        "路灯",
        "公交",
        "养老",
        "游园",
    )
    assert ids(sel.ranked_out) == ["菜市场", "停车"]
    assert sel.not_passed == ()
    assert [o.rank for o in sel.selected] == list(range(1, 11))
    assert sel.unfilled == 0
    assert [o.candidate_id for o in sel.outcomes] == list(yes)  # ballot order kept
    assert sel.describe() == "到会代表半数以上赞成（赞成票不少于到会人员的半数）"


def test_eleven_candidates_for_ten_is_refused_at_the_count_too() -> None:
    tallies = [CandidateTally(f"P{i}", 150) for i in range(11)]
    with pytest.raises(CandidateMarginError):
        select_projects(tallies, 10, 205, expected=220)


def test_seven_towns_seventy_seven_candidates_sixty_one_selected() -> None:
    tallies = [CandidateTally(f"T{i:02d}", 101 + i) for i in range(77)]  # all pass: 101 > 200/2
    sel = select_projects(tallies, 61, 200, expected=210)
    assert len(sel.selected) == 61 and sel.is_final
    assert set(sel.selected_ids) == {f"T{i:02d}" for i in range(16, 77)}
    assert len(sel.ranked_out) == 16


# (yes by candidate, k, present, selected, tied, tie_seats, ranked_out, not_passed, unfilled)
SELECT = [
    # 半数以上: exactly half of those present passes (present 200: need 100); 99 does not
    ({"A": 150, "B": 120, "C": 99, "D": 100}, 3, 200, "ABD", "", 0, "", "C", 0),
    # a tie at the K-th place is reported, never broken: C and D for 1 seat
    ({"A": 150, "B": 140, "C": 130, "D": 130, "E": 110}, 3, 200, "AB", "CD", 1, "E", "", 0),
    # the tie fits within K: no tie to resolve
    ({"A": 150, "B": 130, "C": 130, "D": 110}, 3, 200, "ABC", "", 0, "D", "", 0),
    # three-way tie for two seats at the top: nobody is certainly in
    ({"A": 150, "B": 150, "C": 150, "D": 140}, 2, 200, "", "ABC", 2, "D", "", 0),
    # tie below the cut is harmless
    ({"A": 150, "B": 140, "C": 120, "D": 120}, 2, 200, "AB", "", 0, "CD", "", 0),
    # fewer than K pass: seats stay unfilled, no tie
    ({"A": 150, "B": 140, "C": 90, "D": 80}, 3, 200, "AB", "", 0, "", "CD", 1),
    # nobody passes
    ({"A": 10, "B": 20, "C": 30}, 2, 200, "", "", 0, "", "ABC", 2),
    # a tie among failing candidates is no tie
    ({"A": 150, "B": 99, "C": 99}, 2, 200, "A", "", 0, "", "BC", 1),
]


@pytest.mark.parametrize(
    ("yes", "k", "present", "selected", "tied", "seats", "ranked_out", "not_passed", "unfilled"), SELECT
)
def test_select_projects(
    yes: dict[str, int],
    k: int,
    present: int,
    selected: str,
    tied: str,
    seats: int,
    ranked_out: str,
    not_passed: str,
    unfilled: int,
) -> None:
    sel = select_projects(ballot(yes), k, present, expected=220)
    assert "".join(sel.selected_ids) == selected
    assert "".join(ids(sel.tied)) == tied
    assert "".join(ids(sel.ranked_out)) == ranked_out
    assert "".join(ids(sel.not_passed)) == not_passed
    assert sel.unfilled == unfilled
    if tied:
        assert sel.tie is not None and not sel.is_final
        assert sel.tie.candidate_ids == tuple(tied)
        assert sel.tie.seats == seats
        assert sel.tie.yes == yes[tied[0]]
    else:
        assert sel.tie is None and sel.is_final


def test_tie_is_described_for_the_chair() -> None:
    sel = select_projects(ballot({"A": 150, "B": 140, "C": 130, "D": 130, "E": 110}), 3, 200, expected=220)
    assert sel.tie is not None
    assert sel.tie.describe() == "2 个候选项目均得赞成 130 票 (C, D), 争剩余 1 个名额, 须重新表决"
    assert "1 remaining seat" in sel.tie.describe("en")
    by_id = {o.candidate_id: o for o in sel.outcomes}
    assert by_id["C"].standing is Standing.TIED and by_id["C"].rank == 3 and by_id["D"].rank == 3
    assert by_id["E"].rank == 5
    assert by_id["E"].reason == "ranked_out"


def test_not_passed_carries_the_required_count() -> None:
    sel = select_projects(ballot({"A": 150, "B": 140, "C": 99}), 2, 200, expected=220)
    (c,) = sel.not_passed
    assert c.standing is Standing.NOT_PASSED and c.rank is None
    assert c.result.required == 100 and c.yes == 99
    assert c.standing.label() == "未获通过"


def test_other_pass_rule() -> None:
    # more than half of ALL members (220): 110 is not enough
    sel = select_projects(ballot({"A": 150, "B": 111, "C": 110}), 2, 200, CONGRESS_RESOLUTION, expected=220)
    assert sel.selected_ids == ("A", "B")
    assert ids(sel.not_passed) == ["C"]


# (tallies, error)
BAD_BALLOTS = [
    ([CandidateTally("A", 150), CandidateTally("A", 140), CandidateTally("B", 1)], DuplicateCandidate),
    ([CandidateTally("A", 150, 40, 20), CandidateTally("B", 1), CandidateTally("C", 1)], CountsInconsistent),
    ([CandidateTally("A", -1), CandidateTally("B", 1), CandidateTally("C", 1)], CountsInconsistent),
    ([CandidateTally("", 1), CandidateTally("B", 1), CandidateTally("C", 1)], InvalidRule),
    (["A", "B", "C"], InvalidRule),
]


@pytest.mark.parametrize(("tallies", "error"), BAD_BALLOTS)
def test_bad_ballots_are_refused(tallies: list[CandidateTally], error: type[Exception]) -> None:
    with pytest.raises(error):
        select_projects(tallies, 2, 200, expected=220)


# -- properties -------------------------------------------------------------


@st.composite
def ballots(draw: st.DrawFn) -> tuple[list[CandidateTally], int, int]:
    k = draw(st.integers(1, 8))
    n = draw(st.integers(minimum_candidates(k), minimum_candidates(k) + 6))
    present = draw(st.integers(0, 12))
    tallies = []
    for i in range(n):
        yes = draw(st.integers(0, present))
        no = draw(st.integers(0, present - yes))
        tallies.append(CandidateTally(f"C{i}", yes, no))
    return tallies, k, present


def check_selection(sel: Selection, k: int) -> None:
    passing = [o for o in sel.outcomes if o.result.passed]
    groups = [sel.selected, sel.tied, sel.ranked_out, sel.not_passed]
    assert sorted(o.candidate_id for g in groups for o in g) == sorted(o.candidate_id for o in sel.outcomes)
    assert all(o.result.passed for g in groups[:3] for o in g)
    assert not any(o.result.passed for o in sel.not_passed)
    assert len(sel.selected) <= k
    yes_selected = [o.yes for o in sel.selected]
    assert yes_selected == sorted(yes_selected, reverse=True)
    for o in passing:
        above = sum(1 for p in passing if p.yes > o.yes)
        certainly_in = above + sum(1 for p in passing if p.yes == o.yes) <= k
        # selected + tied covers every candidate ranked above the cut ...
        if above < k:
            assert o.standing in (Standing.SELECTED, Standing.TIED)
        else:
            assert o.standing is Standing.RANKED_OUT
        # ... and selected holds exactly those certainly in
        assert (o.standing is Standing.SELECTED) is (above < k and certainly_in)
    if sel.tie is None:
        assert sel.tied == ()
        assert len(sel.selected) == min(k, len(passing))
        assert sel.unfilled == k - len(sel.selected)
    else:
        assert len(sel.selected) < k < len(sel.selected) + len(sel.tied)
        assert sel.tie.seats == k - len(sel.selected)
        assert {o.yes for o in sel.tied} == {sel.tie.yes}
        assert all(o.yes > sel.tie.yes for o in sel.selected)
        assert all(o.yes < sel.tie.yes for o in sel.ranked_out)
        assert sel.unfilled == 0


@given(b=ballots())
def test_selection_invariants(b: tuple[list[CandidateTally], int, int]) -> None:
    tallies, k, present = b
    check_selection(select_projects(tallies, k, present, expected=present + 3), k)


@given(b=ballots(), data=st.data())
def test_selection_ignores_ballot_order_except_for_listing(
    b: tuple[list[CandidateTally], int, int], data: st.DataObject
) -> None:
    tallies, k, present = b
    shuffled = data.draw(st.permutations(tallies))
    one = select_projects(tallies, k, present, expected=present + 1)
    two = select_projects(shuffled, k, present, expected=present + 1)
    assert set(one.selected_ids) == set(two.selected_ids)
    assert set(ids(one.tied)) == set(ids(two.tied))
    assert (one.tie is None) == (two.tie is None)


def test_livelihood_rule_is_the_default() -> None:
    sel = select_projects(ballot({"A": 150, "B": 140, "C": 130}), 2, 200, expected=220)
    assert sel.rule is LIVELIHOOD_PROJECT
