"""Ratings (测评): satisfaction with a project or a department, deputies' reports.

Rules:
- grades, best first: 优秀 (optional) / 满意 / 基本满意 / 不满意;
- a rule is a ladder of steps, best grade first, then a fallback grade: the
  first step whose count meets its threshold of the base carries; with none,
  the fallback carries;
- cumulative (the default): a step counts its grade and every better one,
  so a vote for 满意 also says "at least 基本满意";
- default (3 grades, base = all members): 满意 if 满意 > 1/2 of all
  members, else 基本满意 if 满意 + 基本满意 > 1/2, else 不满意;
- 4 grades (our default where 优秀 is used): 优秀 if 优秀 > 1/2, else 满意 if
  优秀 + 满意 > 1/2, else 基本满意 if 优秀 + 满意 + 基本满意 > 1/2, else 不满意;
- results show counts and shares per grade (exact fractions of the base,
  plus a percentage rounded half-up for display) and the carrying grade.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from types import MappingProxyType

from .counts import Base, check_attendance, check_count
from .errors import CountsInconsistent, InvalidGrade, InvalidRule
from .threshold import MORE_THAN_HALF, Threshold
from .wording import Lang, base_phrase, check_lang, threshold_phrase

__all__ = [
    "FOUR_GRADE",
    "RATING_PRESETS",
    "THREE_GRADE",
    "Grade",
    "GradeShare",
    "RatingResult",
    "RatingRule",
    "RatingStep",
    "rate",
    "rounded_percent",
]


class Grade(enum.Enum):
    """Rating grades; ``order`` 0 is best."""

    EXCELLENT = "excellent"
    """优秀"""
    SATISFIED = "satisfied"
    """满意"""
    BASICALLY_SATISFIED = "basically_satisfied"
    """基本满意"""
    UNSATISFIED = "unsatisfied"
    """不满意"""

    @property
    def order(self) -> int:
        return _ORDER[self]

    def label(self, lang: Lang = "zh") -> str:
        return _LABELS[self][check_lang(lang)]


_ORDER: dict[Grade, int] = {g: i for i, g in enumerate(Grade)}
_LABELS: dict[Grade, dict[Lang, str]] = {
    Grade.EXCELLENT: {"zh": "优秀", "en": "excellent"},
    Grade.SATISFIED: {"zh": "满意", "en": "satisfied"},
    Grade.BASICALLY_SATISFIED: {"zh": "基本满意", "en": "basically satisfied"},
    Grade.UNSATISFIED: {"zh": "不满意", "en": "unsatisfied"},
}


def rounded_percent(share: Fraction, places: int = 2) -> Decimal:
    """``share * 100`` rounded half-up to ``places`` decimals, in exact integer math."""
    if places < 0:
        raise InvalidRule("places must not be negative")
    scaled = share.numerator * 100 * 10**places
    q, r = divmod(scaled, share.denominator)
    if 2 * r >= share.denominator:
        q += 1
    return Decimal(q).scaleb(-places)


@dataclass(frozen=True)
class RatingStep:
    """``grade`` carries if its count (cumulative: with better grades) meets ``threshold``."""

    grade: Grade
    threshold: Threshold


@dataclass(frozen=True)
class RatingRule:
    """A ladder of steps, best grade first, then the ``fallback`` grade."""

    steps: tuple[RatingStep, ...]
    fallback: Grade
    base: Base = Base.ALL_MEMBERS
    cumulative: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.steps, tuple) or not self.steps:
            raise InvalidRule("a rating rule needs a non-empty tuple of steps")
        for step in self.steps:
            if not isinstance(step, RatingStep) or not isinstance(step.grade, Grade):
                raise InvalidRule("steps must be RatingStep values with a Grade")
            if not isinstance(step.threshold, Threshold):
                raise InvalidRule("a rating step's threshold must be a Threshold")
        if not isinstance(self.fallback, Grade) or not isinstance(self.base, Base):
            raise InvalidRule("fallback must be a Grade and base a Base")
        orders = [g.order for g in self.grades]
        if any(a >= b for a, b in pairwise(orders)):
            raise InvalidRule("grades must be distinct and run from best to worst")

    @property
    def grades(self) -> tuple[Grade, ...]:
        """The grades on this rule's ballot, best first."""
        return (*(s.grade for s in self.steps), self.fallback)

    def counted_grades(self, step: RatingStep) -> tuple[Grade, ...]:
        """The grades whose votes count toward ``step``."""
        if not self.cumulative:
            return (step.grade,)
        return tuple(g for g in self.grades if g.order <= step.grade.order)

    def _step_phrase(self, step: RatingStep, lang: Lang) -> str:
        labels = [g.label(lang) for g in self.counted_grades(step)]
        if lang == "zh":
            subject = (
                f"{labels[0]}票" if len(labels) == 1 else "、".join(labels[:-1]) + f"与{labels[-1]}票合计"
            )
        else:
            subject = (
                f"{labels[0]} votes"
                if len(labels) == 1
                else ", ".join(labels[:-1]) + f" and {labels[-1]} votes together"
            )
        of = base_phrase(self.base, lang)
        return threshold_phrase(subject, step.threshold, of, lang)

    def describe(self, lang: Lang = "zh") -> str:
        """The whole ladder in words."""
        lang = check_lang(lang)
        if lang == "zh":
            parts = [f"{self._step_phrase(s, lang)}为{s.grade.label(lang)}" for s in self.steps]
            return "; 否则".join(parts) + f"; 否则为{self.fallback.label(lang)}"
        parts = [f"{s.grade.label(lang)} if {self._step_phrase(s, lang)}" for s in self.steps]
        return "; else ".join(parts) + f"; else {self.fallback.label(lang)}"


THREE_GRADE = RatingRule(
    steps=(
        RatingStep(Grade.SATISFIED, MORE_THAN_HALF),
        RatingStep(Grade.BASICALLY_SATISFIED, MORE_THAN_HALF),
    ),
    fallback=Grade.UNSATISFIED,
)
"""满意 / 基本满意 / 不满意, more than half of all members, cumulative."""

FOUR_GRADE = RatingRule(
    steps=(
        RatingStep(Grade.EXCELLENT, MORE_THAN_HALF),
        RatingStep(Grade.SATISFIED, MORE_THAN_HALF),
        RatingStep(Grade.BASICALLY_SATISFIED, MORE_THAN_HALF),
    ),
    fallback=Grade.UNSATISFIED,
)
"""优秀 / 满意 / 基本满意 / 不满意, more than half of all members, cumulative."""

RATING_PRESETS: Mapping[str, RatingRule] = MappingProxyType(
    {"three_grade": THREE_GRADE, "four_grade": FOUR_GRADE}
)


@dataclass(frozen=True)
class GradeShare:
    """One grade's count and its share of the rule's base."""

    grade: Grade
    count: int
    share: Fraction
    percent: Decimal
    """``share`` as a percentage, rounded half-up to 2 places (display only)."""


@dataclass(frozen=True)
class RatingResult:
    rule: RatingRule
    members: int
    """应到: members entitled to rate."""
    present: int | None
    """实到, when given."""
    rated: int
    """Ballots with a grade."""
    not_rated: int
    """Present (or members, if present is not given) minus rated."""
    base_count: int
    shares: tuple[GradeShare, ...]
    """Per grade, in the rule's order (best first)."""
    grade: Grade
    """The grade that carries."""
    carried_by: RatingStep | None
    """The step that carried; None when the fallback grade carries."""

    def count(self, grade: Grade) -> int:
        for s in self.shares:
            if s.grade is grade:
                return s.count
        raise InvalidGrade(f"{grade.label('en')} is not a grade of this rule")

    def describe(self, lang: Lang = "zh") -> str:
        """The rule applied, in words."""
        return self.rule.describe(lang)

    def summary(self, lang: Lang = "zh") -> str:
        lang = check_lang(lang)
        if lang == "zh":
            parts = [f"{s.grade.label(lang)} {s.count} 票 ({s.percent}%)" for s in self.shares]
            return f"应到 {self.members} 人; " + ", ".join(parts) + f"; 结果: {self.grade.label(lang)}"
        parts = [f"{s.grade.label(lang)} {s.count} ({s.percent}%)" for s in self.shares]
        return f"members {self.members}; " + ", ".join(parts) + f"; result: {self.grade.label(lang)}"


def rate(
    counts: Mapping[Grade, int],
    members: int,
    rule: RatingRule = THREE_GRADE,
    *,
    present: int | None = None,
) -> RatingResult:
    """Rate: which grade carries with these counts, by ``rule``.

    Refuses counts for a grade the rule does not use, negative counts, more
    ballots than members (or than present, when given), and a base of
    members present without ``present``.
    """
    if not isinstance(rule, RatingRule):
        raise InvalidRule("rule must be a RatingRule")
    if not isinstance(counts, Mapping):
        raise CountsInconsistent("counts must be a mapping of Grade to count")
    for grade, value in counts.items():
        if not isinstance(grade, Grade) or grade not in rule.grades:
            raise InvalidGrade(f"{grade!r} is not a grade of this rule")
        check_count(f"count for {grade.label('en')}", value)
    check_count("members", members)
    if present is None:
        if rule.base is Base.PRESENT:
            raise InvalidRule("a rule based on members present needs the present count")
        check_attendance(members, members)
        ceiling = members
    else:
        check_attendance(members, present)
        ceiling = present
    by_grade = {g: counts.get(g, 0) for g in rule.grades}
    rated = sum(by_grade.values())
    if rated > ceiling:
        raise CountsInconsistent(f"{rated} ratings exceed the {ceiling} entitled to rate")

    if rule.base is Base.ALL_MEMBERS:
        base_count = members
    elif rule.base is Base.PRESENT:
        base_count = ceiling
    else:
        base_count = rated

    carried_by: RatingStep | None = None
    for step in rule.steps:
        counted = sum(by_grade[g] for g in rule.counted_grades(step))
        if step.threshold.is_met(counted, base_count) and counted > 0:
            carried_by = step
            break
    grade = carried_by.grade if carried_by is not None else rule.fallback

    shares = []
    for g in rule.grades:
        share = Fraction(by_grade[g], base_count) if base_count else Fraction(0)
        shares.append(GradeShare(g, by_grade[g], share, rounded_percent(share)))
    return RatingResult(
        rule=rule,
        members=members,
        present=present,
        rated=rated,
        not_rated=ceiling - rated,
        base_count=base_count,
        shares=tuple(shares),
        grade=grade,
        carried_by=carried_by,
    )
