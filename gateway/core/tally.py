"""Counting ballots: per item, how many members chose each code.

Two ways to the same figures: :func:`count` recounts a collection of
ballots (a close freezes its totals this way), and :class:`LiveTally`
keeps a live round's counts up to date by the delta of each applied ballot
(the member's previous ballot out, the new one in), so the live picture
costs the same whether the hall has 30 seats or 3,000.  A test holds the
two equal for every sequence of ballots, forks and commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from protocol import consts

from .state import Ballot, RoundRun

__all__ = ["LiveTally", "count", "live_tally", "round_totals"]


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


@dataclass
class LiveTally:
    """A live round's counts (as :func:`count` gives them) and how many members pressed (voted).

    Owned by one :class:`RoundRun`; :func:`gateway.core.apply.apply` moves
    it by each ballot's delta and copies it with the run (copy on write).
    """

    counts: list[list[int]]
    voted: int = 0

    @classmethod
    def of(cls, ballots: Iterable[Ballot], ballot_kind: int, item_count: int) -> LiveTally:
        tally = cls([[0] * (consts.choice_max(ballot_kind) + 1) for _ in range(item_count)])
        for ballot in ballots:
            tally.replace(None, ballot)
        return tally

    def copy(self) -> LiveTally:
        return LiveTally([list(row) for row in self.counts], self.voted)

    def replace(self, old: Ballot | None, new: Ballot | None) -> None:
        """One member's ballot changed from ``old`` to ``new`` (None: none)."""
        counts = self.counts
        if old is not None:
            for i, choice in enumerate(old.choices):
                if choice:
                    counts[i][choice] -= 1
            self.voted -= old.pressed
        if new is not None:
            for i, choice in enumerate(new.choices):
                if choice:
                    counts[i][choice] += 1
            self.voted += new.pressed

    def totals(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(row) for row in self.counts)


def live_tally(run: RoundRun, ballot_kind: int, item_count: int) -> LiveTally:
    """The run's live tally, counted from its ballots the first time it is asked for (then kept by apply).

    It is derived data: filling it in never changes what the run means, so
    it may be filled in on the committed state (under the gateway's lock).
    """
    if run.tally is None:
        run.tally = LiveTally.of(run.ballots.values(), ballot_kind, item_count)
    return run.tally
