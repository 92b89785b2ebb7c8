"""Livelihood-project ballot (民生实事项目人大代表票决制).

Rules:
- the candidate list must exceed K, the number of projects to select, by
  at least 20% (差额比例不低于20%): candidates >= ceil(1.2 K) = ceil(6K/5),
  computed in exact integers; a shorter list is refused;
- each candidate gets 赞成/反对/弃权 on one secret ballot; it passes by the
  passing rule (default 到会代表半数以上赞成: yes from at least half of the deputies present);
- the selected projects are the passing ones ranked by yes votes, up to K;
- a tie at the K-th place is reported as a tie (which candidates, how many
  seats remain) for the chair to resolve by a new round; it is never broken
  silently: ``selected`` holds only candidates certainly in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .counts import VoteCounts, check_count
from .errors import CandidateMarginError, DuplicateCandidate, InvalidRule, InvalidSeats
from .passing import LIVELIHOOD_PROJECT, PassingRule, VoteResult, decide
from .wording import Lang, check_lang

__all__ = [
    "DEFAULT_MARGIN",
    "CandidateOutcome",
    "CandidateTally",
    "MarginCheck",
    "Selection",
    "Standing",
    "Tie",
    "check_candidate_margin",
    "minimum_candidates",
    "select_projects",
]

DEFAULT_MARGIN = Fraction(1, 5)
"""差额比例不低于20%: at least 20% more candidates than projects to select."""


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidSeats(f"the number of projects to select must be a positive int, not {k!r}")
    return k


def _check_margin(margin: object) -> Fraction:
    if isinstance(margin, bool) or not isinstance(margin, int | Fraction) or margin < 0:
        raise InvalidRule(f"margin must be a non-negative int or Fraction, not {margin!r}")
    return Fraction(margin)


def minimum_candidates(k: int, margin: int | Fraction = DEFAULT_MARGIN) -> int:
    """ceil(K * (1 + margin)) in exact integers; ceil(6K/5) by default."""
    k = _check_k(k)
    factor = 1 + _check_margin(margin)
    product = k * factor.numerator
    return -(-product // factor.denominator)


def _check_ids(ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for cid in ids:
        if not isinstance(cid, str) or not cid:
            raise InvalidRule(f"candidate ids must be non-empty strings, not {cid!r}")
        if cid in seen:
            raise DuplicateCandidate(f"candidate {cid!r} appears more than once")
        seen.add(cid)


@dataclass(frozen=True)
class MarginCheck:
    """A candidate list that satisfies the margin: how many, for K, against the minimum."""

    candidates: int
    k: int
    minimum: int


def check_candidate_margin(
    candidates: int | Sequence[str], k: int, margin: int | Fraction = DEFAULT_MARGIN
) -> MarginCheck:
    """Refuse (:class:`CandidateMarginError`) a list shorter than ceil(K * 1.2).

    ``candidates`` is a count or the list of candidate ids (checked for duplicates).
    """
    if isinstance(candidates, str):
        raise InvalidRule("candidates must be a count or a sequence of ids, not one string")
    if isinstance(candidates, int):
        count = check_count("candidates", candidates)
    else:
        _check_ids(candidates)
        count = len(candidates)
    minimum = minimum_candidates(k, margin)
    if count < minimum:
        raise CandidateMarginError(count, k, minimum)
    return MarginCheck(candidates=count, k=k, minimum=minimum)


@dataclass(frozen=True)
class CandidateTally:
    """One candidate's line on the ballot."""

    candidate_id: str
    yes: int
    no: int = 0
    abstain: int = 0

    @property
    def counts(self) -> VoteCounts:
        return VoteCounts(self.yes, self.no, self.abstain)


class Standing(enum.Enum):
    """Where a candidate ends up."""

    SELECTED = "selected"
    """Passed and certainly within the K selected."""
    TIED = "tied"
    """Passed, tied at the K-th place: the chair must resolve (re-vote)."""
    RANKED_OUT = "ranked_out"
    """Passed, but ranked below the K-th place."""
    NOT_PASSED = "not_passed"
    """Did not get the votes the passing rule requires."""

    def label(self, lang: Lang = "zh") -> str:
        return _STANDING_LABELS[self][check_lang(lang)]


_STANDING_LABELS: dict[Standing, dict[Lang, str]] = {
    Standing.SELECTED: {"zh": "当选", "en": "selected"},
    Standing.TIED: {"zh": "票数相同, 待重新表决", "en": "tied at the cut, to be re-voted"},
    Standing.RANKED_OUT: {"zh": "已通过, 但得票排名在名额之外", "en": "passed, ranked below the cut"},
    Standing.NOT_PASSED: {"zh": "未获通过", "en": "not passed"},
}


@dataclass(frozen=True)
class CandidateOutcome:
    """One candidate's result and standing. ``rank`` is competition rank among passing ones."""

    candidate_id: str
    ballot_position: int
    """0-based position on the ballot."""
    result: VoteResult
    standing: Standing
    rank: int | None
    """1, 2, 2, 4 ... by yes votes among passing candidates; None if not passed."""

    @property
    def yes(self) -> int:
        return self.result.yes

    @property
    def reason(self) -> str:
        return self.standing.value


@dataclass(frozen=True)
class Tie:
    """A tie at the K-th place: ``seats`` remaining seats among ``candidate_ids``."""

    candidate_ids: tuple[str, ...]
    yes: int
    seats: int

    def describe(self, lang: Lang = "zh", labels: Mapping[str, str] | None = None) -> str:
        """The note for the chair; ``labels`` names candidates by their labels (项目10) instead of ids."""
        lang = check_lang(lang)
        names = labels or {}
        ids = ", ".join(names.get(c, c) for c in self.candidate_ids)
        if lang == "zh":
            return (
                f"{len(self.candidate_ids)} 个候选项目均得赞成 {self.yes} 票 ({ids}), "
                f"争剩余 {self.seats} 个名额, 须重新表决"
            )
        return (
            f"{len(self.candidate_ids)} candidates tied at {self.yes} yes votes ({ids}) "
            f"for the {self.seats} remaining seat(s); a new round is needed"
        )


@dataclass(frozen=True)
class Selection:
    """The ballot's outcome. ``selected`` is final; a ``tie`` must be resolved by the chair."""

    k: int
    expected: int
    present: int
    rule: PassingRule
    outcomes: tuple[CandidateOutcome, ...]
    """Every candidate, in ballot order."""
    selected: tuple[CandidateOutcome, ...]
    """Certainly selected, ranked by yes votes (ballot order among equals)."""
    tie: Tie | None
    tied: tuple[CandidateOutcome, ...]
    ranked_out: tuple[CandidateOutcome, ...]
    not_passed: tuple[CandidateOutcome, ...]

    @property
    def is_final(self) -> bool:
        """True when no tie is left for the chair to resolve."""
        return self.tie is None

    @property
    def unfilled(self) -> int:
        """Seats left empty because fewer than K candidates passed (0 with a tie)."""
        if self.tie is not None:
            return 0
        return self.k - len(self.selected)

    @property
    def selected_ids(self) -> tuple[str, ...]:
        return tuple(o.candidate_id for o in self.selected)

    def describe(self, lang: Lang = "zh") -> str:
        """The rule applied, in words."""
        return self.rule.describe(lang)


def select_projects(
    tallies: Sequence[CandidateTally],
    k: int,
    present: int,
    pass_rule: PassingRule = LIVELIHOOD_PROJECT,
    *,
    expected: int,
    margin: int | Fraction = DEFAULT_MARGIN,
) -> Selection:
    """Count a livelihood-project ballot: who passes, who is selected, any tie at the cut.

    Refuses a ballot whose candidate list fails the margin, duplicate ids,
    K <= 0 and impossible counts.
    """
    k = _check_k(k)
    if isinstance(tallies, str | bytes) or not all(isinstance(t, CandidateTally) for t in tallies):
        raise InvalidRule("tallies must be a sequence of CandidateTally")
    _check_ids([t.candidate_id for t in tallies])
    check_candidate_margin(len(tallies), k, margin)

    results = [decide(t.counts, expected=expected, present=present, rule=pass_rule) for t in tallies]
    passing = sorted((i for i, r in enumerate(results) if r.passed), key=lambda i: (-results[i].yes, i))
    # competition ranking (1, 2, 2, 4): one more than the passing candidates with more yes votes
    ranks = {i: 1 + sum(results[j].yes > results[i].yes for j in passing) for i in passing}

    standing: dict[int, Standing] = dict.fromkeys(range(len(tallies)), Standing.NOT_PASSED)
    tie: Tie | None = None
    if len(passing) <= k:
        for i in passing:
            standing[i] = Standing.SELECTED
    else:
        cut_yes = results[passing[k - 1]].yes
        above = [i for i in passing if results[i].yes > cut_yes]
        at = [i for i in passing if results[i].yes == cut_yes]
        if len(above) + len(at) <= k:
            in_, tied = above + at, []
        else:
            in_, tied = above, at
            tie = Tie(
                candidate_ids=tuple(tallies[i].candidate_id for i in at),
                yes=cut_yes,
                seats=k - len(above),
            )
        for i in passing:
            standing[i] = Standing.RANKED_OUT
        for i in in_:
            standing[i] = Standing.SELECTED
        for i in tied:
            standing[i] = Standing.TIED

    outcomes = tuple(
        CandidateOutcome(
            candidate_id=t.candidate_id,
            ballot_position=i,
            result=results[i],
            standing=standing[i],
            rank=ranks.get(i),
        )
        for i, t in enumerate(tallies)
    )

    def pick(which: Standing) -> tuple[CandidateOutcome, ...]:
        return tuple(outcomes[i] for i in passing if standing[i] is which)

    return Selection(
        k=k,
        expected=expected,
        present=present,
        rule=pass_rule,
        outcomes=outcomes,
        selected=pick(Standing.SELECTED),
        tie=tie,
        tied=pick(Standing.TIED),
        ranked_out=pick(Standing.RANKED_OUT),
        not_passed=tuple(o for o in outcomes if o.standing is Standing.NOT_PASSED),
    )
