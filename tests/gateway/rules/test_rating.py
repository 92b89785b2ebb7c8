"""Ratings: the carrying grade by a configurable ladder, counts and shares per grade."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    AT_LEAST_TWO_THIRDS,
    FOUR_GRADE,
    MORE_THAN_HALF,
    RATING_PRESETS,
    THREE_GRADE,
    Base,
    CountsInconsistent,
    Grade,
    InvalidGrade,
    InvalidRule,
    RatingRule,
    RatingStep,
    describe,
    rate,
    rounded_percent,
)

E, S, B, U = Grade.EXCELLENT, Grade.SATISFIED, Grade.BASICALLY_SATISFIED, Grade.UNSATISFIED

NON_CUMULATIVE = RatingRule(
    steps=(RatingStep(S, MORE_THAN_HALF), RatingStep(B, MORE_THAN_HALF)), fallback=U, cumulative=False
)
OF_PRESENT = RatingRule(steps=THREE_GRADE.steps, fallback=U, base=Base.PRESENT)
OF_RATED = RatingRule(steps=THREE_GRADE.steps, fallback=U, base=Base.VOTES_CAST)
STRICT_EXCELLENT = RatingRule(
    steps=(RatingStep(E, AT_LEAST_TWO_THIRDS), RatingStep(S, MORE_THAN_HALF), RatingStep(B, MORE_THAN_HALF)),
    fallback=U,
)

# (rule, counts (E, S, B, U), members, present, grade)
RATE = [
    # default: 满意 if 满意 > 1/2 of all members, else 基本满意 if 满意+基本满意 > 1/2, else 不满意
    (THREE_GRADE, (0, 31, 0, 0), 60, None, S),
    (THREE_GRADE, (0, 30, 0, 0), 60, None, U),  # exactly half is not more than half
    (THREE_GRADE, (0, 30, 1, 0), 60, None, B),
    (THREE_GRADE, (0, 30, 0, 29), 60, None, U),
    (THREE_GRADE, (0, 20, 11, 29), 60, None, B),
    (THREE_GRADE, (0, 20, 10, 30), 60, None, U),  # 满意+基本满意 exactly half
    (THREE_GRADE, (0, 31, 0, 0), 61, None, S),  # 31 > 30.5
    (THREE_GRADE, (0, 30, 0, 0), 61, None, U),
    (THREE_GRADE, (0, 30, 5, 0), 61, None, B),
    (THREE_GRADE, (0, 0, 0, 0), 60, None, U),
    # base is all members: absent or blank ballots count against
    (THREE_GRADE, (0, 30, 0, 5), 60, 35, U),
    (OF_PRESENT, (0, 30, 0, 5), 60, 35, S),  # 30 > 35/2
    (OF_PRESENT, (0, 17, 0, 18), 60, 35, U),
    (OF_RATED, (0, 21, 0, 19), 60, None, S),  # 21 > 40/2
    (OF_RATED, (0, 20, 0, 20), 60, None, U),
    # non-cumulative: each grade on its own
    (NON_CUMULATIVE, (0, 20, 31, 0), 60, None, B),
    (NON_CUMULATIVE, (0, 20, 20, 0), 60, None, U),
    (THREE_GRADE, (0, 20, 20, 0), 60, None, B),
    # four grades (default: 优秀 > 1/2, else 优秀+满意 > 1/2, else +基本满意 > 1/2)
    (FOUR_GRADE, (31, 0, 0, 0), 60, None, E),
    (FOUR_GRADE, (30, 1, 0, 0), 60, None, S),
    (FOUR_GRADE, (30, 0, 0, 30), 60, None, U),
    (FOUR_GRADE, (10, 20, 1, 0), 60, None, B),
    (FOUR_GRADE, (10, 20, 0, 0), 60, None, U),
    (FOUR_GRADE, (0, 0, 31, 0), 60, None, B),
    # configurable per step: 优秀 needs at least 2/3
    (STRICT_EXCELLENT, (40, 0, 0, 0), 60, None, E),
    (STRICT_EXCELLENT, (39, 0, 0, 0), 60, None, S),
]


@pytest.mark.parametrize(("rule", "counts", "members", "present", "grade"), RATE)
def test_rate(
    rule: RatingRule, counts: tuple[int, int, int, int], members: int, present: int | None, grade: Grade
) -> None:
    by_grade = {g: c for g, c in zip((E, S, B, U), counts, strict=True) if g in rule.grades}
    result = rate(by_grade, members, rule, present=present)
    assert result.grade is grade
    assert result.rule is rule
    assert [s.grade for s in result.shares] == list(rule.grades)
    assert result.rated == sum(by_grade.values())
    assert result.not_rated == (present if present is not None else members) - result.rated
    if result.carried_by is None:
        assert grade is rule.fallback
    else:
        assert result.carried_by.grade is grade


def test_shares_and_percentages() -> None:
    result = rate({S: 30, B: 10, U: 5}, 60)
    assert [(s.grade, s.count, s.share, s.percent) for s in result.shares] == [
        (S, 30, Fraction(1, 2), Decimal("50.00")),
        (B, 10, Fraction(1, 6), Decimal("16.67")),
        (U, 5, Fraction(1, 12), Decimal("8.33")),
    ]
    assert result.base_count == 60 and result.not_rated == 15
    assert result.count(S) == 30
    assert (
        result.summary()
        == "应到 60 人; 满意 30 票 (50.00%), 基本满意 10 票 (16.67%), 不满意 5 票 (8.33%); 结果: 基本满意"
    )
    with pytest.raises(InvalidGrade):
        result.count(E)


@pytest.mark.parametrize(
    ("share", "places", "percent"),
    [
        (Fraction(1, 3), 2, "33.33"),
        (Fraction(2, 3), 2, "66.67"),
        (Fraction(1, 8), 2, "12.50"),
        (Fraction(1, 16), 2, "6.25"),
        (Fraction(1, 16), 1, "6.3"),  # half up
        (Fraction(1, 2000), 2, "0.05"),
        (Fraction(1, 3), 0, "33"),
        (Fraction(1), 2, "100.00"),
        (Fraction(0), 2, "0.00"),
    ],
)
def test_rounded_percent(share: Fraction, places: int, percent: str) -> None:
    assert str(rounded_percent(share, places)) == percent


def test_describe_rating_rules() -> None:
    assert describe(THREE_GRADE) == (
        "满意票超过全体组成人员的半数为满意; 否则满意与基本满意票合计超过全体组成人员的半数为基本满意; 否则为不满意"
    )
    assert describe(THREE_GRADE, "en") == (
        "satisfied if satisfied votes exceed one half of all members; else basically satisfied if "
        "satisfied and basically satisfied votes together exceed one half of all members; else unsatisfied"
    )
    assert describe(FOUR_GRADE).startswith("优秀票超过全体组成人员的半数为优秀; 否则优秀与满意票合计")
    assert describe(rate({S: 1}, 1)) == describe(THREE_GRADE)
    assert RATING_PRESETS == {"three_grade": THREE_GRADE, "four_grade": FOUR_GRADE}


# (counts, members, present, rule, error)
BAD = [
    ({E: 1}, 60, None, THREE_GRADE, InvalidGrade),  # 优秀 not on a 3-grade ballot
    ({S: -1}, 60, None, THREE_GRADE, CountsInconsistent),
    ({S: 31, U: 30}, 60, None, THREE_GRADE, CountsInconsistent),  # more ballots than members
    ({S: 30, U: 6}, 60, 35, THREE_GRADE, CountsInconsistent),  # more ballots than present
    ({S: 1}, 60, 61, THREE_GRADE, CountsInconsistent),
    ({S: 1}, 0, None, THREE_GRADE, CountsInconsistent),
    ({S: 1}, 60, None, OF_PRESENT, InvalidRule),  # base present, present not given
    ({"满意": 1}, 60, None, THREE_GRADE, InvalidGrade),
]


@pytest.mark.parametrize(("counts", "members", "present", "rule", "error"), BAD)
def test_bad_ratings_are_refused(
    counts: dict[Grade, int], members: int, present: int | None, rule: RatingRule, error: type[Exception]
) -> None:
    with pytest.raises(error):
        rate(counts, members, rule, present=present)


@pytest.mark.parametrize(
    ("steps", "fallback"),
    [
        ((), U),
        ((RatingStep(B, MORE_THAN_HALF), RatingStep(S, MORE_THAN_HALF)), U),  # not best-first
        ((RatingStep(S, MORE_THAN_HALF), RatingStep(S, MORE_THAN_HALF)), U),  # duplicate
        ((RatingStep(S, MORE_THAN_HALF),), E),  # fallback better than a step
        ((RatingStep(S, Fraction(1, 2)),), U),  # type: ignore[arg-type]  # not a Threshold
    ],
)
def test_bad_rating_rules_are_refused(steps: tuple[RatingStep, ...], fallback: Grade) -> None:
    with pytest.raises(InvalidRule):
        RatingRule(steps=steps, fallback=fallback)


def test_grade_labels() -> None:
    assert [g.label() for g in Grade] == ["优秀", "满意", "基本满意", "不满意"]
    assert [g.label("en") for g in Grade] == ["excellent", "satisfied", "basically satisfied", "unsatisfied"]


# -- properties -------------------------------------------------------------


@st.composite
def ratings(draw: st.DrawFn) -> tuple[RatingRule, dict[Grade, int], int]:
    rule = draw(st.sampled_from([THREE_GRADE, FOUR_GRADE, NON_CUMULATIVE, OF_RATED, STRICT_EXCELLENT]))
    members = draw(st.integers(1, 80))
    counts: dict[Grade, int] = {}
    left = members
    for g in rule.grades:
        counts[g] = draw(st.integers(0, left))
        left -= counts[g]
    return rule, counts, members


@given(r=ratings(), data=st.data())
def test_moving_a_vote_up_never_lowers_the_grade(
    r: tuple[RatingRule, dict[Grade, int], int], data: st.DataObject
) -> None:
    rule, counts, members = r
    if rule is NON_CUMULATIVE:
        return  # non-cumulative ladders are not monotone by design
    donors = [g for g in rule.grades if counts[g] > 0 and g is not rule.grades[0]]
    if not donors:
        return
    worse = data.draw(st.sampled_from(donors))
    better = data.draw(st.sampled_from([g for g in rule.grades if g.order < worse.order]))
    moved = dict(counts)
    moved[worse] -= 1
    moved[better] += 1
    assert rate(moved, members, rule).grade.order <= rate(counts, members, rule).grade.order


@given(r=ratings())
def test_shares_are_exact(r: tuple[RatingRule, dict[Grade, int], int]) -> None:
    rule, counts, members = r
    result = rate(counts, members, rule)
    assert sum(s.share for s in result.shares) == (
        Fraction(result.rated, result.base_count) if result.base_count else 0
    )
    for s in result.shares:
        assert abs(Fraction(s.percent) - 100 * s.share) <= Fraction(1, 200)
