"""The small model: a scenario and its seed -> who presses what and when, and the results that must follow.

Independent of the gateway: it counts ballots itself and applies the
sitting's rules as written in docs/hil.md (a resolution passes with yes
from more than half of all members; a selection item passes the same way
and the passing items with the most yes votes take the places, a tie at
the cut is a tie; a rating counts grades).  The runner compares the
gateway's results with these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hil.scenario.spec import MotionPlan, Scenario

__all__ = ["KEYS", "Expected", "MotionOutcome", "Plan", "Press", "expected", "plan"]

# choice name -> (protocol code, the key a deputy presses)
CODES = {
    "resolution": {"yes": 1, "no": 2, "abstain": 3},
    "selection": {"yes": 1, "no": 2, "abstain": 3, "none": 0},
    "rating": {"satisfied": 2, "basic": 3, "unsatisfied": 4, "none": 0},
}
KEYS = {
    "yes": "yes", "no": "no", "abstain": "abstain",
    "satisfied": "yes", "basic": "abstain", "unsatisfied": "no",
}  # fmt: skip


@dataclass(frozen=True)
class Press:
    """One deputy's key presses at ``at`` seconds into the phase; ``ballot`` the choice codes they send."""

    member: int  # 1-based roster position (keypad kp-0001 is member 1)
    at: float
    keys: tuple[str, ...]
    ballot: tuple[int, ...]


@dataclass
class MotionOutcome:
    key: str
    kind: str
    items: tuple[str, ...]
    counts: list[list[int]]  # per item: yes/no/abstain, or excellent/satisfied/basic/unsatisfied
    voted: int
    present: int
    expected: int
    outcome: str  # passed / failed / selected / tie / rated
    selected: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts, "voted": self.voted, "present": self.present,
            "expected": self.expected, "outcome": self.outcome, "selected": self.selected,
        }  # fmt: skip


@dataclass
class Plan:
    scenario: Scenario
    checkins: dict[int, float]  # member -> seconds into check-in; absent members are missing
    presses: dict[str, list[Press]]  # motion key -> presses in time order
    items: dict[str, tuple[str, ...]]  # motion key -> its items (resolved for follow-on selections)
    results: dict[str, MotionOutcome]


Expected = dict[str, MotionOutcome]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _ballot(rng: random.Random, m: MotionPlan, items: tuple[str, ...]) -> list[str]:
    if m.kind == "resolution":
        return [_pick(rng, m.weights)]
    return [_pick(rng, m.item_weights[i] if m.item_weights else m.weights) for i in range(len(items))]


def _keys(kind: str, names: list[str]) -> tuple[str, ...]:
    """What a deputy presses: one key, or a draft walked item by item then confirm (docs/hil.md)."""
    if kind == "resolution":
        return (KEYS[names[0]],)
    keys: list[str] = []
    for name in names:
        if name == "none":
            keys.append("down")
        elif kind == "selection":
            keys.append(KEYS[name])  # the cursor moves on by itself
        else:
            keys.append(KEYS[name])
            keys.append("down")  # a rating item stays: move on
    keys.append("confirm")
    return tuple(keys)


def _tally(
    m: MotionPlan, items: tuple[str, ...], ballots: list[tuple[int, ...]], present: int, seats: int
) -> MotionOutcome:
    width = 4 if m.kind == "rating" else 3
    counts = [[0] * width for _ in range(max(1, len(items)))]
    for ballot in ballots:
        for i, code in enumerate(ballot):
            if code:
                counts[i][code - 1] += 1
    out = MotionOutcome(m.key, m.kind, items, counts, len(ballots), present, seats, "rated")
    if m.kind == "resolution":
        out.outcome = "passed" if counts[0][0] * 2 > seats else "failed"
    elif m.kind == "selection":
        assert m.select is not None
        passing = sorted(
            (i for i in range(len(items)) if counts[i][0] * 2 > seats), key=lambda i: (-counts[i][0], i)
        )
        if len(passing) <= m.select:
            out.selected, out.outcome = sorted(passing), ("selected" if passing else "failed")
        else:
            cut = counts[passing[m.select - 1]][0]
            if counts[passing[m.select]][0] == cut:
                out.outcome = "tie"
                out.selected = sorted(i for i in passing if counts[i][0] > cut)
            else:
                out.outcome, out.selected = "selected", sorted(passing[: m.select])
    return out


def plan(s: Scenario) -> Plan:
    """Everything the sitting will do, from the scenario and its seed alone."""
    rng = random.Random(s.seed)
    members = list(range(1, s.seats + 1))
    absent = set(rng.sample(members, s.absent))
    checkins = {i: rng.uniform(0, s.checkin_window_s) for i in members if i not in absent}
    present = sorted(checkins)
    presses: dict[str, list[Press]] = {}
    results: dict[str, MotionOutcome] = {}
    items_of: dict[str, tuple[str, ...]] = {}
    for m in s.motions:
        items = m.items
        if m.from_selection is not None:
            src = results[m.from_selection]
            chosen = src.selected if src.outcome == "selected" else []
            if len(chosen) < 2:  # a tie or too few passed: the best by yes (then order) go on
                chosen = sorted(range(len(src.items)), key=lambda i: (-src.counts[i][0], i))[
                    : src_select(s, m)
                ]
            items = tuple(src.items[i] for i in sorted(chosen))
        items_of[m.key] = items
        codes = CODES[m.kind]
        made: list[Press] = []
        counted: list[tuple[int, ...]] = []
        for member in present:
            if rng.random() >= m.turnout:
                continue
            names = _ballot(rng, m, items)
            if all(n == "none" for n in names):
                continue  # an empty draft cannot be sent: this deputy does not vote
            ballot = tuple(codes[n] for n in names)
            at = rng.uniform(0, m.window_s)
            if m.last_press and m.kind == "resolution" and rng.random() < m.change_mind:
                first = rng.choice([n for n in codes if n != names[0]])
                made.append(Press(member, at, _keys(m.kind, [first]), (codes[first],)))
                at = min(m.window_s, at + rng.uniform(0.5, 2.0))
            made.append(Press(member, at, _keys(m.kind, names), ballot))
            counted.append(ballot)
        made.sort(key=lambda p: (p.at, p.member))
        presses[m.key] = made
        results[m.key] = _tally(m, items, counted, len(present), s.seats)
    return Plan(s, checkins, presses, items_of, results)


def src_select(s: Scenario, m: MotionPlan) -> int:
    src = next(x for x in s.motions if x.key == m.from_selection)
    assert src.select is not None
    return src.select


def expected(s: Scenario) -> Expected:
    return plan(s).results
