"""Quorum (法定人数): may this body open a vote with this many present?

Rules:
- a congress sitting needs more than 2/3 of its roster present, a standing
  committee more than 1/2; the fraction and strictness are configurable;
- opening a vote without quorum is refused, unless the body allows a chair
  override and the chair gives one (with who and why); the decision then
  says an override was used, for the gateway to write to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .counts import check_attendance
from .errors import InvalidOverride, InvalidRule, QuorumNotMet, QuorumOverrideNotAllowed
from .threshold import AT_LEAST_TWO_THIRDS, MORE_THAN_HALF, Threshold
from .wording import Lang, check_lang, legal_wording, threshold_phrase, with_wording

__all__ = [
    "CONGRESS_QUORUM",
    "QUORUM_PRESETS",
    "STANDING_COMMITTEE_QUORUM",
    "ChairOverride",
    "OpenDecision",
    "QuorumRule",
    "QuorumStatus",
    "check_quorum",
    "require_quorum_to_open",
]

_SUBJECT: dict[Lang, str] = {"zh": "实到人数", "en": "members present"}
_OF: dict[Lang, str] = {"zh": "应到人数", "en": "the roster"}


@dataclass(frozen=True)
class QuorumRule:
    """Members present must meet ``threshold`` of the roster (应到)."""

    threshold: Threshold

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, Threshold):
            raise InvalidRule("QuorumRule.threshold must be a Threshold")

    def describe(self, lang: Lang = "zh") -> str:
        """ "实到人数超过应到人数的三分之二" / "members present exceed two thirds of the roster"."""
        lang = check_lang(lang)
        phrase = threshold_phrase(_SUBJECT[lang], self.threshold, _OF[lang], lang)
        return with_wording(legal_wording("quorum", None, self.threshold, lang), phrase, lang)


CONGRESS_QUORUM = QuorumRule(AT_LEAST_TWO_THIRDS)
"""人民代表大会: 三分之二以上 of the deputies present (以上 includes: 218 of 327 proceeds)."""

STANDING_COMMITTEE_QUORUM = QuorumRule(MORE_THAN_HALF)
"""常委会: more than 1/2 of the members present."""

QUORUM_PRESETS: Mapping[str, QuorumRule] = MappingProxyType(
    {"congress": CONGRESS_QUORUM, "standing_committee": STANDING_COMMITTEE_QUORUM}
)


@dataclass(frozen=True)
class QuorumStatus:
    """The quorum check at one moment: 应到, 实到, the number required, met or not."""

    rule: QuorumRule
    expected: int
    present: int
    required: int
    met: bool

    @property
    def shortfall(self) -> int:
        """How many more members must check in (0 when met)."""
        return max(0, self.required - self.present)

    def describe(self, lang: Lang = "zh") -> str:
        lang = check_lang(lang)
        rule = self.rule.describe(lang)
        if lang == "zh":
            verdict = "已达法定人数" if self.met else f"未达法定人数, 尚缺 {self.shortfall} 人"
            return (
                f"应到 {self.expected} 人, 实到 {self.present} 人; "
                f"{rule} (至少 {self.required} 人): {verdict}"
            )
        verdict = "quorum met" if self.met else f"no quorum, {self.shortfall} more needed"
        return (
            f"expected {self.expected}, present {self.present}; {rule} (at least {self.required}): {verdict}"
        )


def check_quorum(expected: int, present: int, rule: QuorumRule) -> QuorumStatus:
    """Is the quorum met with ``present`` of ``expected`` members checked in?"""
    check_attendance(expected, present)
    if not isinstance(rule, QuorumRule):
        raise InvalidRule("rule must be a QuorumRule")
    required = rule.threshold.required(expected)
    return QuorumStatus(
        rule=rule,
        expected=expected,
        present=present,
        required=required,
        met=rule.threshold.is_met(present, expected),
    )


@dataclass(frozen=True)
class ChairOverride:
    """The chair's decision to open a vote without quorum: who, and why."""

    by: str
    reason: str

    def __post_init__(self) -> None:
        for name in ("by", "reason"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidOverride(f"a chair override needs a non-empty {name!r}")


@dataclass(frozen=True)
class OpenDecision:
    """Permission to open a vote; ``override`` is set only when one was needed and used."""

    status: QuorumStatus
    override: ChairOverride | None

    @property
    def override_used(self) -> bool:
        """True when the vote opens without quorum on the chair's override (audit it)."""
        return self.override is not None


def require_quorum_to_open(
    status: QuorumStatus,
    override: ChairOverride | None = None,
    overrides_allowed: bool = False,
) -> OpenDecision:
    """Allow opening a vote, or raise.

    With quorum: allowed, any override is ignored (not needed, not recorded as used).
    Without quorum: raises :class:`QuorumNotMet`, or
    :class:`QuorumOverrideNotAllowed` if an override was given where none is
    allowed; allowed only with an override where overrides are allowed.
    """
    if not isinstance(status, QuorumStatus):
        raise InvalidRule("status must be a QuorumStatus from check_quorum")
    if override is not None and not isinstance(override, ChairOverride):
        raise InvalidOverride("override must be a ChairOverride")
    if status.met:
        return OpenDecision(status=status, override=None)
    if override is None:
        raise QuorumNotMet(status.expected, status.present, status.required)
    if not overrides_allowed:
        raise QuorumOverrideNotAllowed(
            status.expected,
            status.present,
            status.required,
            f"{status.present} of {status.expected} present, quorum requires "
            f"{status.required}; this body does not allow a chair override",
        )
    return OpenDecision(status=status, override=override)
