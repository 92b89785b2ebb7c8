"""Threshold: exact fractions, "more than" vs "at least", the required count."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    AT_LEAST_TWO_THIRDS,
    MORE_THAN_HALF,
    MORE_THAN_TWO_THIRDS,
    InvalidRule,
    Threshold,
)

# (threshold, base, count, met)
IS_MET = [
    (MORE_THAN_HALF, 300, 150, False),  # exactly half is not more than half
    (MORE_THAN_HALF, 300, 151, True),
    (MORE_THAN_HALF, 301, 150, False),
    (MORE_THAN_HALF, 301, 151, True),
    (Threshold(1, 2, strict=False), 300, 150, True),  # at least half
    (Threshold(1, 2, strict=False), 300, 149, False),
    (MORE_THAN_TWO_THIRDS, 300, 200, False),  # exactly 2/3
    (MORE_THAN_TWO_THIRDS, 300, 201, True),
    (AT_LEAST_TWO_THIRDS, 300, 200, True),
    (AT_LEAST_TWO_THIRDS, 300, 199, False),
    (MORE_THAN_TWO_THIRDS, 301, 200, False),  # 2/3 of 301 = 200.67
    (MORE_THAN_TWO_THIRDS, 301, 201, True),
    (AT_LEAST_TWO_THIRDS, 301, 200, False),
    (AT_LEAST_TWO_THIRDS, 301, 201, True),
    (MORE_THAN_HALF, 0, 0, False),
    (MORE_THAN_HALF, 1, 1, True),
    (Threshold(3, 5, strict=False), 10, 6, True),
    (Threshold(3, 5, strict=True), 10, 6, False),
]


@pytest.mark.parametrize(("threshold", "base", "count", "met"), IS_MET)
def test_is_met(threshold: Threshold, base: int, count: int, met: bool) -> None:
    assert threshold.is_met(count, base) is met


# (threshold, base, required)
REQUIRED = [
    (MORE_THAN_HALF, 300, 151),
    (MORE_THAN_HALF, 301, 151),
    (MORE_THAN_HALF, 1, 1),
    (MORE_THAN_HALF, 0, 1),
    (Threshold(1, 2, strict=False), 300, 150),
    (Threshold(1, 2, strict=False), 301, 151),
    (MORE_THAN_TWO_THIRDS, 300, 201),
    (MORE_THAN_TWO_THIRDS, 301, 201),
    (AT_LEAST_TWO_THIRDS, 300, 200),
    (AT_LEAST_TWO_THIRDS, 301, 201),
    (AT_LEAST_TWO_THIRDS, 0, 0),
    (MORE_THAN_TWO_THIRDS, 2455, 1637),  # 2/3 * 2455 = 1636.67
]


@pytest.mark.parametrize(("threshold", "base", "required"), REQUIRED)
def test_required(threshold: Threshold, base: int, required: int) -> None:
    assert threshold.required(base) == required


def test_fraction_is_exact_and_reduced() -> None:
    t = Threshold(4, 6, strict=True)
    assert t == MORE_THAN_TWO_THIRDS
    assert (t.numerator, t.denominator) == (2, 3)
    assert t.fraction == Fraction(2, 3)
    assert Threshold(Fraction(2, 3), strict=False) == AT_LEAST_TWO_THIRDS
    assert repr(MORE_THAN_HALF) == "Threshold(1, 2, strict=True)"


@pytest.mark.parametrize(
    "args",
    [
        (0, 1),
        (1, 1),
        (3, 2),
        (-1, 2),
        (1, 0),
        (0.5, 1),
        (True, 2),
        (1, 2.0),
        ("1", 2),
    ],
)
def test_invalid_thresholds_are_refused(args: tuple[object, object]) -> None:
    with pytest.raises(InvalidRule) as err:
        Threshold(*args, strict=True)  # type: ignore[arg-type]
    assert err.value.code == "INVALID_RULE"


def test_strict_must_be_a_bool() -> None:
    with pytest.raises(InvalidRule):
        Threshold(1, 2, strict=1)  # type: ignore[arg-type]


def test_threshold_is_frozen() -> None:
    with pytest.raises(AttributeError):
        MORE_THAN_HALF.strict = False  # type: ignore[misc]


fractions_in_unit = st.tuples(st.integers(1, 50), st.integers(2, 51)).filter(lambda nd: nd[0] < nd[1])


@given(nd=fractions_in_unit, strict=st.booleans(), base=st.integers(0, 5000))
def test_required_is_the_exact_boundary(nd: tuple[int, int], strict: bool, base: int) -> None:
    t = Threshold(*nd, strict=strict)
    required = t.required(base)
    assert t.is_met(required, base)
    assert required == 0 or not t.is_met(required - 1, base)


@given(nd=fractions_in_unit, strict=st.booleans(), base=st.integers(0, 500), count=st.integers(0, 500))
def test_is_met_agrees_with_exact_fraction_comparison(
    nd: tuple[int, int], strict: bool, base: int, count: int
) -> None:
    t = Threshold(*nd, strict=strict)
    bound = Fraction(*nd) * base
    assert t.is_met(count, base) is (count > bound if strict else count >= bound)
