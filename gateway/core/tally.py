"""Counting ballots: per item, how many members chose each code."""

from __future__ import annotations

from collections.abc import Iterable

from protocol import consts

from .state import Ballot, RoundRun

__all__ = ["count", "round_totals"]


def count(ballots: Iterable[Ballot], ballot_kind: int, item_count: int) -> tuple[tuple[int, ...], ...]:
    """Per item, a tuple indexed by choice code (index 0, "not pressed", stays 0)."""
    width = consts.choice_max(ballot_kind) + 1
    totals = [[0] * width for _ in range(item_count)]
    for ballot in ballots:
        for i, choice in enumerate(ballot.choices):
            if choice:
                totals[i][choice] += 1
    return tuple(tuple(row) for row in totals)


def round_totals(run: RoundRun, ballot_kind: int, item_count: int) -> tuple[tuple[int, ...], ...]:
    """Totals of a round: live from its ballots, or the frozen totals of a closed secret round."""
    if run.totals:
        return run.totals
    return count(run.ballots.values(), ballot_kind, item_count)
