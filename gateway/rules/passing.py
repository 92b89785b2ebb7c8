"""Passing rules: does a question pass with these counts?

Rules:
- a rule is a base (all members 应到 / members present 实到 / votes cast)
  and a :class:`Threshold` (fraction, "more than" or "at least");
- the question passes when the yes votes meet the threshold of the base,
  and never with zero yes votes;
- 未按 (not pressed) = present - (yes + no + abstain);
- the result carries the rule it applied and the required count: the
  smallest number of yes votes that would pass, the no and abstain votes
  being as they are (with the votes-cast base, every extra yes vote also
  grows the base, and the required count accounts for that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .counts import Base, VoteCounts, check_attendance
from .errors import CountsInconsistent, InvalidRule
from .threshold import AT_LEAST_HALF, AT_LEAST_TWO_THIRDS, MORE_THAN_HALF, Threshold
from .wording import Lang, base_phrase, check_lang, legal_wording, threshold_phrase, with_wording

__all__ = [
    "CONGRESS_RESOLUTION",
    "LIVELIHOOD_PROJECT",
    "PASSING_PRESETS",
    "TWO_THIRDS_OF_ALL_MEMBERS",
    "TWO_THIRDS_OF_PRESENT",
    "PassingRule",
    "VoteResult",
    "decide",
    "required_yes",
]

_SUBJECT: dict[Lang, str] = {"zh": "赞成票", "en": "yes votes"}


@dataclass(frozen=True)
class PassingRule:
    """Yes votes must meet ``threshold`` of ``base``."""

    base: Base
    threshold: Threshold

    def __post_init__(self) -> None:
        if not isinstance(self.base, Base):
            raise InvalidRule("PassingRule.base must be a Base")
        if not isinstance(self.threshold, Threshold):
            raise InvalidRule("PassingRule.threshold must be a Threshold")

    def describe(self, lang: Lang = "zh") -> str:
        """ "以全体代表的过半数通过（赞成票超过全体组成人员的半数）" / its English.

        The legal wording of a known rule comes first, then the exact
        statement (超过 excludes the number, 不少于 includes it).
        """
        lang = check_lang(lang)
        phrase = threshold_phrase(_SUBJECT[lang], self.threshold, base_phrase(self.base, lang), lang)
        return with_wording(legal_wording("passing", self.base, self.threshold, lang), phrase, lang)


CONGRESS_RESOLUTION = PassingRule(Base.ALL_MEMBERS, MORE_THAN_HALF)
"""全体代表过半数: congress resolutions."""

LIVELIHOOD_PROJECT = PassingRule(Base.PRESENT, AT_LEAST_HALF)
"""到会代表半数以上赞成: at least half of those present (以上 includes: 27 yes of 54 present passes)."""

TWO_THIRDS_OF_ALL_MEMBERS = PassingRule(Base.ALL_MEMBERS, AT_LEAST_TWO_THIRDS)
"""全体组成人员的三分之二以上 (以上 includes the number): at least 2/3 of the roster."""

TWO_THIRDS_OF_PRESENT = PassingRule(Base.PRESENT, AT_LEAST_TWO_THIRDS)
"""到会人员的三分之二以上: at least 2/3 of those present."""

PASSING_PRESETS: Mapping[str, PassingRule] = MappingProxyType(
    {
        "congress_resolution": CONGRESS_RESOLUTION,
        "livelihood_project": LIVELIHOOD_PROJECT,
        "two_thirds_of_all_members": TWO_THIRDS_OF_ALL_MEMBERS,
        "two_thirds_of_present": TWO_THIRDS_OF_PRESENT,
    }
)


def _base_count(base: Base, expected: int, present: int, counts: VoteCounts) -> int:
    if base is Base.ALL_MEMBERS:
        return expected
    if base is Base.PRESENT:
        return present
    return counts.cast


def required_yes(rule: PassingRule, *, expected: int, present: int, no: int = 0, abstain: int = 0) -> int:
    """The smallest yes count that passes, with ``no`` and ``abstain`` as given.

    May exceed what is reachable (present - no - abstain): the question then
    cannot pass. Always at least 1.
    """
    th = rule.threshold
    if rule.base is Base.VOTES_CAST:
        # y*d > n*(y + others)  <=>  y*(d - n) > n*others   (d > n since fraction < 1)
        others = no + abstain
        product, gap = th.numerator * others, th.denominator - th.numerator
        needed = product // gap + 1 if th.strict else -(-product // gap)
    else:
        base = expected if rule.base is Base.ALL_MEMBERS else present
        needed = th.required(base)
    return max(1, needed)


@dataclass(frozen=True)
class VoteResult:
    """One question's result, as announced: 应到, 实到, 赞成/反对/弃权/未按, the rule, the verdict."""

    rule: PassingRule
    expected: int
    """应到: the roster."""
    present: int
    """实到: members checked in."""
    yes: int
    no: int
    abstain: int
    not_pressed: int
    """未按: present but no accepted vote."""
    base_count: int
    """The value of the rule's base for this vote."""
    required: int
    """The smallest yes count that passes (no and abstain as they are)."""
    passed: bool

    @property
    def base(self) -> Base:
        return self.rule.base

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain

    def describe(self, lang: Lang = "zh") -> str:
        """The rule applied, in words."""
        return self.rule.describe(lang)

    def summary(self, lang: Lang = "zh") -> str:
        """The line the chair reads: counts, rule applied, required count, verdict."""
        lang = check_lang(lang)
        rule = self.rule.describe(lang)
        if lang == "zh":
            return (
                f"应到 {self.expected} 人, 实到 {self.present} 人, 赞成 {self.yes} 票, "
                f"反对 {self.no} 票, 弃权 {self.abstain} 票, 未按 {self.not_pressed} 人; "
                f"{rule} (至少 {self.required} 票): {'通过' if self.passed else '未通过'}"
            )
        return (
            f"expected {self.expected}, present {self.present}, yes {self.yes}, "
            f"no {self.no}, abstain {self.abstain}, not pressed {self.not_pressed}; "
            f"{rule} (at least {self.required}): {'passed' if self.passed else 'failed'}"
        )


def decide(counts: VoteCounts, *, expected: int, present: int, rule: PassingRule) -> VoteResult:
    """Apply ``rule`` to one question's counts; refuse impossible counts."""
    if not isinstance(counts, VoteCounts):
        raise CountsInconsistent("counts must be VoteCounts")
    if not isinstance(rule, PassingRule):
        raise InvalidRule("rule must be a PassingRule")
    check_attendance(expected, present)
    if counts.cast > present:
        raise CountsInconsistent(
            f"{counts.cast} votes (yes {counts.yes}, no {counts.no}, "
            f"abstain {counts.abstain}) exceed the {present} present"
        )
    required = required_yes(rule, expected=expected, present=present, no=counts.no, abstain=counts.abstain)
    base_count = _base_count(rule.base, expected, present, counts)
    passed = counts.yes >= 1 and rule.threshold.is_met(counts.yes, base_count)
    if passed != (counts.yes >= required):  # the two statements of the rule must agree
        raise AssertionError("required count disagrees with the threshold")  # pragma: no cover
    return VoteResult(
        rule=rule,
        expected=expected,
        present=present,
        yes=counts.yes,
        no=counts.no,
        abstain=counts.abstain,
        not_pressed=present - counts.cast,
        base_count=base_count,
        required=required,
        passed=passed,
    )
