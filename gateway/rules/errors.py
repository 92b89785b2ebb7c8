"""The rules' error hierarchy.

Every refusal is a :class:`RuleError` whose ``code`` is one of the reason
codes below, so the console can show it and the audit log can record it.
Impossible inputs (more present than expected, more votes than present,
negative counts, K <= 0, duplicate candidate ids) are always refused,
never silently accepted.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CANDIDATE_MARGIN",
    "CODES",
    "COUNTS_INCONSISTENT",
    "DUPLICATE_CANDIDATE",
    "DUPLICATE_YEAR",
    "INVALID_GRADE",
    "INVALID_OVERRIDE",
    "INVALID_RULE",
    "INVALID_SEATS",
    "QUORUM_NOT_MET",
    "QUORUM_OVERRIDE_NOT_ALLOWED",
    "UNSUPPORTED_LANGUAGE",
    "CandidateMarginError",
    "CountsInconsistent",
    "DuplicateCandidate",
    "DuplicateYear",
    "InvalidGrade",
    "InvalidOverride",
    "InvalidRule",
    "InvalidSeats",
    "QuorumNotMet",
    "QuorumOverrideNotAllowed",
    "RuleError",
    "UnsupportedLanguage",
]

COUNTS_INCONSISTENT = "COUNTS_INCONSISTENT"
INVALID_RULE = "INVALID_RULE"
INVALID_SEATS = "INVALID_SEATS"
DUPLICATE_CANDIDATE = "DUPLICATE_CANDIDATE"
CANDIDATE_MARGIN = "CANDIDATE_MARGIN"
QUORUM_NOT_MET = "QUORUM_NOT_MET"
QUORUM_OVERRIDE_NOT_ALLOWED = "QUORUM_OVERRIDE_NOT_ALLOWED"
INVALID_OVERRIDE = "INVALID_OVERRIDE"
INVALID_GRADE = "INVALID_GRADE"
DUPLICATE_YEAR = "DUPLICATE_YEAR"
UNSUPPORTED_LANGUAGE = "UNSUPPORTED_LANGUAGE"

CODES: tuple[str, ...] = (
    COUNTS_INCONSISTENT,
    INVALID_RULE,
    INVALID_SEATS,
    DUPLICATE_CANDIDATE,
    CANDIDATE_MARGIN,
    QUORUM_NOT_MET,
    QUORUM_OVERRIDE_NOT_ALLOWED,
    INVALID_OVERRIDE,
    INVALID_GRADE,
    DUPLICATE_YEAR,
    UNSUPPORTED_LANGUAGE,
)


class RuleError(ValueError):
    """Base of all rule errors; ``code`` is one of :data:`CODES`."""

    code: ClassVar[str] = "RULE_ERROR"

    def __init__(self, detail: str = "") -> None:
        ValueError.__init__(self, self.code, detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


class CountsInconsistent(RuleError):
    """Counts that cannot happen: negative, present > expected, votes > present."""

    code = COUNTS_INCONSISTENT


class InvalidRule(RuleError):
    """A rule that makes no sense (fraction out of range, missing base count)."""

    code = INVALID_RULE


class InvalidSeats(RuleError):
    """A number of projects to select (K) that is not a positive integer."""

    code = INVALID_SEATS


class DuplicateCandidate(RuleError):
    """The same candidate id appears twice on one ballot."""

    code = DUPLICATE_CANDIDATE


class CandidateMarginError(RuleError):
    """Too few candidates for K seats (差额比例不低于20%)."""

    code = CANDIDATE_MARGIN

    def __init__(self, candidates: int, k: int, minimum: int) -> None:
        RuleError.__init__(self, f"{candidates} candidates for {k} projects; at least {minimum} required")
        self.candidates = candidates
        self.k = k
        self.minimum = minimum


class QuorumNotMet(RuleError):
    """A vote may not be opened: fewer members present than the quorum requires."""

    code = QUORUM_NOT_MET

    def __init__(self, expected: int, present: int, required: int, detail: str = "") -> None:
        RuleError.__init__(
            self,
            detail or f"{present} of {expected} present; quorum requires {required}",
        )
        self.expected = expected
        self.present = present
        self.required = required


class QuorumOverrideNotAllowed(QuorumNotMet):
    """The chair offered an override, but this body does not allow one."""

    code = QUORUM_OVERRIDE_NOT_ALLOWED


class InvalidOverride(RuleError):
    """A chair override without the identity or reason the audit log needs."""

    code = INVALID_OVERRIDE


class InvalidGrade(RuleError):
    """Counts for a grade the rating rule does not use."""

    code = INVALID_GRADE


class DuplicateYear(RuleError):
    """Two performance ratings for the same deputy in the same year."""

    code = DUPLICATE_YEAR


class UnsupportedLanguage(RuleError):
    """A description was asked for in a language other than zh or en."""

    code = UNSUPPORTED_LANGUAGE
