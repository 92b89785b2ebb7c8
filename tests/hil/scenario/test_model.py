"""The model: deterministic from the seed; counts are the tally of the planned ballots; the rules as documented."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hil.scenario.model import _tally, plan
from hil.scenario.spec import load, parse


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    s = load("town")
    a, b = plan(s), plan(s)
    assert a.presses == b.presses and a.checkins == b.checkins
    from dataclasses import replace

    c = plan(replace(s, seed=s.seed + 1))
    assert c.presses != a.presses


@settings(max_examples=30, deadline=None)
@given(
    seats=st.integers(3, 40),
    absent=st.integers(0, 2),
    turnout=st.floats(0, 1),
    seed=st.integers(0, 10_000),
    last=st.booleans(),
)
def test_counts_are_the_tally_of_the_counted_presses(
    seats: int, absent: int, turnout: float, seed: int, last: bool
) -> None:
    s = parse({
        "seats": seats, "seed": seed, "checkin": {"absent": absent},
        "motions": [
            {"key": "r", "title": "r", "kind": "resolution", "turnout": turnout, "press": "last" if last else "first",
             "change_mind": 0.5, "weights": {"yes": 2, "no": 1, "abstain": 1}},
            {"key": "s", "title": "s", "kind": "selection", "select": 2, "items": ["a", "b", "c", "d"],
             "weights": {"yes": 2, "no": 1, "none": 1}},
            {"key": "g", "title": "g", "kind": "rating", "items": ["x", "y"], "weights": {"satisfied": 1, "basic": 1}},
        ],
    })  # fmt: skip
    p = plan(s)
    present = set(p.checkins)
    assert len(present) == seats - absent
    for key, presses in p.presses.items():
        final = {pr.member: pr.ballot for pr in presses}
        assert set(final) <= present
        res = p.results[key]
        assert res.voted == len(final) and res.present == len(present) and res.expected == seats
        for i in range(len(res.counts)):
            column = [b[i] for b in final.values()]
            width = len(res.counts[i])
            assert res.counts[i] == [sum(1 for c in column if c == code) for code in range(1, width + 1)]
        assert [pr.at for pr in presses] == sorted(pr.at for pr in presses)
    # a deputy's keys end in confirm for a draft, and the draft walks every item
    for pr in p.presses["s"]:
        assert pr.keys[-1] == "confirm" and len(pr.keys) == 5
    for pr in p.presses["g"]:
        assert pr.keys[-1] == "confirm"


def _sel(select: int, yes: list[int], seats: int) -> Any:
    s = parse({"seats": seats, "motions": [{"key": "s", "title": "s", "kind": "selection", "select": select,
                                             "items": [str(i) for i in range(len(yes))], "weights": {"yes": 1}}]})  # fmt: skip
    ballots = []
    for voter in range(seats):
        ballots.append(tuple(1 if voter < y else 2 for y in yes))
    return _tally(s.motions[0], s.motions[0].items, ballots, seats, seats)


def test_selection_rule_majority_of_all_then_most_yes() -> None:
    r = _sel(2, [9, 8, 7, 5], 10)  # 5 of 10 is not more than half
    assert r.outcome == "selected" and r.selected == [0, 1]
    r = _sel(2, [9, 8, 8, 2], 10)  # a tie at the cut
    assert r.outcome == "tie" and r.selected == [0]
    r = _sel(3, [9, 6, 5, 2], 10)  # fewer pass than places
    assert r.outcome == "selected" and r.selected == [0, 1]
    r = _sel(1, [5, 4], 10)
    assert r.outcome == "failed" and r.selected == []


def test_follow_on_selection_takes_the_selected_items() -> None:
    p = plan(load("county"))
    short = p.results["shortlist"]
    assert short.outcome == "selected" and len(short.selected) == 12
    assert p.items["projects"] == tuple(short.items[i] for i in short.selected)
