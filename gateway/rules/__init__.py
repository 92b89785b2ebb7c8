"""The hall's rules as pure functions: quorum, passing, livelihood ballots, ratings.

No I/O, no clock, no floats: every decision is exact integer arithmetic,
every rule is a frozen dataclass (data, with named presets), every result
says in words which rule it applied (Chinese first, English available),
and every impossible input raises a :class:`RuleError` with a reason code.
"""

from __future__ import annotations

from .counts import Base, VoteCounts
from .errors import (
    CODES,
    CandidateMarginError,
    CountsInconsistent,
    DuplicateCandidate,
    DuplicateYear,
    InvalidGrade,
    InvalidOverride,
    InvalidRule,
    InvalidSeats,
    QuorumNotMet,
    QuorumOverrideNotAllowed,
    RuleError,
    UnsupportedLanguage,
)
from .history import HistoryFlag, RatingHistory, YearGrade, evaluate_history
from .livelihood import (
    DEFAULT_MARGIN,
    CandidateOutcome,
    CandidateTally,
    MarginCheck,
    Selection,
    Standing,
    Tie,
    check_candidate_margin,
    minimum_candidates,
    select_projects,
)
from .passing import (
    CONGRESS_RESOLUTION,
    LIVELIHOOD_PROJECT,
    PASSING_PRESETS,
    TWO_THIRDS_OF_ALL_MEMBERS,
    TWO_THIRDS_OF_PRESENT,
    PassingRule,
    VoteResult,
    decide,
    required_yes,
)
from .quorum import (
    CONGRESS_QUORUM,
    QUORUM_PRESETS,
    STANDING_COMMITTEE_QUORUM,
    ChairOverride,
    OpenDecision,
    QuorumRule,
    QuorumStatus,
    check_quorum,
    require_quorum_to_open,
)
from .rating import (
    FOUR_GRADE,
    RATING_PRESETS,
    THREE_GRADE,
    Grade,
    GradeShare,
    RatingResult,
    RatingRule,
    RatingStep,
    rate,
    rounded_percent,
)
from .threshold import AT_LEAST_HALF, AT_LEAST_TWO_THIRDS, MORE_THAN_HALF, MORE_THAN_TWO_THIRDS, Threshold
from .wording import Lang

__all__ = [
    "AT_LEAST_HALF",
    "AT_LEAST_TWO_THIRDS",
    "CODES",
    "CONGRESS_QUORUM",
    "CONGRESS_RESOLUTION",
    "DEFAULT_MARGIN",
    "FOUR_GRADE",
    "LIVELIHOOD_PROJECT",
    "MORE_THAN_HALF",
    "MORE_THAN_TWO_THIRDS",
    "PASSING_PRESETS",
    "QUORUM_PRESETS",
    "RATING_PRESETS",
    "STANDING_COMMITTEE_QUORUM",
    "THREE_GRADE",
    "TWO_THIRDS_OF_ALL_MEMBERS",
    "TWO_THIRDS_OF_PRESENT",
    "Base",
    "CandidateMarginError",
    "CandidateOutcome",
    "CandidateTally",
    "ChairOverride",
    "CountsInconsistent",
    "DuplicateCandidate",
    "DuplicateYear",
    "Grade",
    "GradeShare",
    "HistoryFlag",
    "InvalidGrade",
    "InvalidOverride",
    "InvalidRule",
    "InvalidSeats",
    "Lang",
    "MarginCheck",
    "OpenDecision",
    "PassingRule",
    "QuorumNotMet",
    "QuorumOverrideNotAllowed",
    "QuorumRule",
    "QuorumStatus",
    "RatingHistory",
    "RatingResult",
    "RatingRule",
    "RatingStep",
    "RuleError",
    "Selection",
    "Standing",
    "Threshold",
    "Tie",
    "UnsupportedLanguage",
    "VoteCounts",
    "VoteResult",
    "YearGrade",
    "check_candidate_margin",
    "check_quorum",
    "decide",
    "describe",
    "evaluate_history",
    "minimum_candidates",
    "rate",
    "require_quorum_to_open",
    "required_yes",
    "rounded_percent",
    "select_projects",
]

Describable = PassingRule | QuorumRule | RatingRule | VoteResult | QuorumStatus | RatingResult | Tie


def describe(item: Describable, lang: Lang = "zh") -> str:
    """A rule (or the rule a result applied) in words.

    ``describe(CONGRESS_RESOLUTION)`` -> "赞成票超过全体组成人员的半数";
    ``describe(CONGRESS_RESOLUTION, lang="en")`` -> "yes votes exceed one half of all members".
    """
    if isinstance(item, VoteResult | RatingResult):
        return item.rule.describe(lang)
    if isinstance(item, QuorumStatus):
        return item.rule.describe(lang)
    if isinstance(item, PassingRule | QuorumRule | RatingRule | Tie):
        return item.describe(lang)
    raise InvalidRule(f"nothing to describe in {type(item).__name__}")
