"""Passing rules: base x fraction x strictness, 未按, the required count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    AT_LEAST_TWO_THIRDS,
    CONGRESS_RESOLUTION,
    LIVELIHOOD_PROJECT,
    MORE_THAN_HALF,
    PASSING_PRESETS,
    TWO_THIRDS_OF_ALL_MEMBERS,
    TWO_THIRDS_OF_PRESENT,
    Base,
    CountsInconsistent,
    InvalidRule,
    PassingRule,
    Threshold,
    VoteCounts,
    decide,
    required_yes,
)

HALF_OF_CAST = PassingRule(Base.VOTES_CAST, MORE_THAN_HALF)
AT_LEAST_HALF_OF_CAST = PassingRule(Base.VOTES_CAST, Threshold(1, 2, strict=False))
TWO_THIRDS_OF_CAST = PassingRule(Base.VOTES_CAST, AT_LEAST_TWO_THIRDS)

# (rule, expected, present, yes, no, abstain, base_count, required, passed)
DECIDE = [
    # congress resolution: more than half of ALL members, whoever is present
    (CONGRESS_RESOLUTION, 300, 280, 150, 100, 20, 300, 151, False),  # exactly half of all: fails
    (CONGRESS_RESOLUTION, 300, 280, 151, 100, 20, 300, 151, True),
    (CONGRESS_RESOLUTION, 301, 280, 151, 0, 0, 301, 151, True),
    (CONGRESS_RESOLUTION, 300, 202, 150, 0, 0, 300, 151, False),  # all present yes is not enough
    # livelihood: more than half of those present
    (LIVELIHOOD_PROJECT, 54, 54, 27, 27, 0, 54, 27, True),  # 半数以上 includes half: 27 of 54 passes
    (LIVELIHOOD_PROJECT, 54, 54, 26, 20, 8, 54, 27, False),
    (LIVELIHOOD_PROJECT, 300, 280, 140, 100, 20, 280, 140, True),  # exactly half present
    (LIVELIHOOD_PROJECT, 300, 280, 139, 100, 20, 280, 140, False),
    (LIVELIHOOD_PROJECT, 300, 281, 141, 0, 0, 281, 141, True),
    (LIVELIHOOD_PROJECT, 300, 281, 140, 0, 0, 281, 141, False),  # 140.5 needed
    # two-thirds rules (at least)
    (TWO_THIRDS_OF_ALL_MEMBERS, 300, 290, 200, 50, 40, 300, 200, True),  # exactly 2/3 of all: passes
    (TWO_THIRDS_OF_ALL_MEMBERS, 300, 290, 199, 50, 40, 300, 200, False),
    (TWO_THIRDS_OF_PRESENT, 300, 240, 160, 80, 0, 240, 160, True),
    (TWO_THIRDS_OF_PRESENT, 300, 240, 159, 81, 0, 240, 160, False),
    # votes cast: 未按 does not count; the base grows with each yes
    (HALF_OF_CAST, 300, 280, 100, 99, 0, 199, 100, True),
    (HALF_OF_CAST, 300, 280, 100, 100, 0, 200, 101, False),  # a tie among votes cast fails
    (HALF_OF_CAST, 300, 280, 100, 60, 40, 200, 101, False),  # abstentions count as cast
    (AT_LEAST_HALF_OF_CAST, 300, 280, 100, 100, 0, 200, 100, True),
    (TWO_THIRDS_OF_CAST, 300, 280, 100, 50, 0, 150, 100, True),
    (TWO_THIRDS_OF_CAST, 300, 280, 99, 50, 0, 149, 100, False),
    # never passes with zero yes votes, even where the arithmetic would allow it
    (AT_LEAST_HALF_OF_CAST, 300, 280, 0, 0, 0, 0, 1, False),
    (HALF_OF_CAST, 300, 280, 1, 0, 0, 1, 1, True),
    (LIVELIHOOD_PROJECT, 300, 0, 0, 0, 0, 0, 1, False),
]


@pytest.mark.parametrize(
    ("rule", "expected", "present", "yes", "no", "abstain", "base_count", "required", "passed"), DECIDE
)
def test_decide(
    rule: PassingRule,
    expected: int,
    present: int,
    yes: int,
    no: int,
    abstain: int,
    base_count: int,
    required: int,
    passed: bool,
) -> None:
    result = decide(VoteCounts(yes, no, abstain), expected=expected, present=present, rule=rule)
    assert result.rule is rule
    assert result.base is rule.base
    assert (result.expected, result.present) == (expected, present)
    assert (result.yes, result.no, result.abstain) == (yes, no, abstain)
    assert result.not_pressed == present - yes - no - abstain
    assert result.base_count == base_count
    assert result.required == required
    assert result.passed is passed


def test_not_pressed() -> None:
    result = decide(VoteCounts(200, 30, 10), expected=300, present=260, rule=CONGRESS_RESOLUTION)
    assert result.not_pressed == 20
    assert result.cast == 240


def test_presets() -> None:
    assert PASSING_PRESETS["congress_resolution"] == PassingRule(
        Base.ALL_MEMBERS, Threshold(1, 2, strict=True)
    )
    assert PASSING_PRESETS["livelihood_project"] == PassingRule(Base.PRESENT, Threshold(1, 2, strict=False))
    assert PASSING_PRESETS["two_thirds_of_all_members"].threshold == Threshold(2, 3, strict=False)
    assert PASSING_PRESETS["two_thirds_of_present"].base is Base.PRESENT


# (expected, present, yes, no, abstain)
IMPOSSIBLE = [
    (300, 301, 0, 0, 0),  # present > expected
    (300, 280, 200, 60, 21),  # votes > present
    (300, 280, 281, 0, 0),
    (0, 0, 0, 0, 0),  # empty roster
    (-1, 0, 0, 0, 0),
    (300, -1, 0, 0, 0),
]


@pytest.mark.parametrize(("expected", "present", "yes", "no", "abstain"), IMPOSSIBLE)
def test_impossible_counts_are_refused(expected: int, present: int, yes: int, no: int, abstain: int) -> None:
    with pytest.raises(CountsInconsistent) as err:
        decide(VoteCounts(yes, no, abstain), expected=expected, present=present, rule=CONGRESS_RESOLUTION)
    assert err.value.code == "COUNTS_INCONSISTENT"


@pytest.mark.parametrize(
    ("yes", "no", "abstain"), [(-1, 0, 0), (0, -1, 0), (0, 0, -1), (True, 0, 0), (1.0, 0, 0)]
)
def test_bad_vote_counts_are_refused(yes: int, no: int, abstain: int) -> None:
    with pytest.raises(CountsInconsistent):
        VoteCounts(yes, no, abstain)


def test_bad_rules_are_refused() -> None:
    with pytest.raises(InvalidRule):
        PassingRule("present", MORE_THAN_HALF)  # type: ignore[arg-type]
    with pytest.raises(InvalidRule):
        PassingRule(Base.PRESENT, 0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidRule):
        decide(VoteCounts(1), expected=3, present=3, rule=MORE_THAN_HALF)  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------

rules = st.builds(
    PassingRule,
    base=st.sampled_from(list(Base)),
    threshold=st.tuples(st.integers(1, 9), st.integers(2, 10), st.booleans())
    .filter(lambda t: t[0] < t[1])
    .map(lambda t: Threshold(t[0], t[1], strict=t[2])),
)


@st.composite
def situations(draw: st.DrawFn) -> tuple[PassingRule, int, int, int, int]:
    rule = draw(rules)
    expected = draw(st.integers(1, 400))
    present = draw(st.integers(0, expected))
    no = draw(st.integers(0, present))
    abstain = draw(st.integers(0, present - no))
    return rule, expected, present, no, abstain


@given(situation=situations())
def test_required_count_is_the_exact_boundary(situation: tuple[PassingRule, int, int, int, int]) -> None:
    """required - 1 yes fails and required yes passes (others as they are), when reachable."""
    rule, expected, present, no, abstain = situation
    required = required_yes(rule, expected=expected, present=present, no=no, abstain=abstain)
    room = present - no - abstain
    assert required >= 1
    if required <= room:
        assert decide(VoteCounts(required, no, abstain), expected=expected, present=present, rule=rule).passed
    if 1 <= required - 1 <= room:
        below = decide(VoteCounts(required - 1, no, abstain), expected=expected, present=present, rule=rule)
        assert not below.passed


@given(situation=situations())
def test_passing_is_monotone_in_yes_votes(situation: tuple[PassingRule, int, int, int, int]) -> None:
    rule, expected, present, no, abstain = situation
    verdicts = [
        decide(VoteCounts(yes, no, abstain), expected=expected, present=present, rule=rule).passed
        for yes in range(present - no - abstain + 1)
    ]
    assert verdicts == sorted(verdicts)  # False ... False True ... True


@given(situation=situations(), data=st.data())
def test_passed_iff_yes_reaches_required(
    situation: tuple[PassingRule, int, int, int, int], data: st.DataObject
) -> None:
    rule, expected, present, no, abstain = situation
    yes = data.draw(st.integers(0, present - no - abstain))
    result = decide(VoteCounts(yes, no, abstain), expected=expected, present=present, rule=rule)
    assert result.passed is (yes >= result.required)
    assert result.not_pressed >= 0
