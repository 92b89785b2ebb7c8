"""A threshold: a fraction of a base count, "more than" or "at least".

Every comparison is exact integer arithmetic on the fraction's numerator and
denominator (``count * d > n * base``); no float ever touches a decision.

The fraction must lie strictly between 0 and 1. "At least all" (unanimity)
and "more than nothing" are not rules the hall uses; refusing them keeps
every rule satisfiable and every required count meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import InvalidRule

__all__ = [
    "AT_LEAST_HALF",
    "AT_LEAST_TWO_THIRDS",
    "MORE_THAN_HALF",
    "MORE_THAN_TWO_THIRDS",
    "Threshold",
]


def _as_fraction(value: object, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise InvalidRule(f"{what} must be an int or a Fraction, not {type(value).__name__}")
    return Fraction(value)


@dataclass(frozen=True, init=False)
class Threshold:
    """``fraction`` of a base; ``strict`` means "more than", else "at least".

    ``Threshold(1, 2, strict=True)`` is "more than one half";
    ``Threshold(Fraction(2, 3), strict=False)`` is "at least two thirds".
    ``strict`` is keyword-only and required: the difference decides votes.
    """

    fraction: Fraction
    strict: bool

    def __init__(self, numerator: int | Fraction, denominator: int | Fraction = 1, *, strict: bool) -> None:
        num = _as_fraction(numerator, "numerator")
        den = _as_fraction(denominator, "denominator")
        if den == 0:
            raise InvalidRule("denominator must not be zero")
        if not isinstance(strict, bool):
            raise InvalidRule("strict must be a bool")
        fraction = num / den
        if not 0 < fraction < 1:
            raise InvalidRule(f"threshold fraction {fraction} must lie strictly between 0 and 1")
        object.__setattr__(self, "fraction", fraction)
        object.__setattr__(self, "strict", strict)

    @property
    def numerator(self) -> int:
        return self.fraction.numerator

    @property
    def denominator(self) -> int:
        return self.fraction.denominator

    def is_met(self, count: int, base: int) -> bool:
        """True if ``count`` is more than (strict) / at least ``fraction * base``."""
        left = count * self.denominator
        right = self.numerator * base
        return left > right if self.strict else left >= right

    def required(self, base: int) -> int:
        """The smallest count that meets the threshold for a fixed ``base``.

        Strict: ``floor(n*base/d) + 1``; at least: ``ceil(n*base/d)``.
        """
        product = self.numerator * base
        if self.strict:
            return product // self.denominator + 1
        return -(-product // self.denominator)

    def __repr__(self) -> str:
        return f"Threshold({self.numerator}, {self.denominator}, strict={self.strict})"


MORE_THAN_HALF = Threshold(1, 2, strict=True)
"""过半数: more than one half (过半数 excludes the half itself)."""

AT_LEAST_HALF = Threshold(1, 2, strict=False)
"""半数以上 (以上 includes the number itself): at least one half."""

MORE_THAN_TWO_THIRDS = Threshold(2, 3, strict=True)
"""超过三分之二: more than two thirds."""

AT_LEAST_TWO_THIRDS = Threshold(2, 3, strict=False)
"""三分之二以上 (以上 includes the number itself): at least two thirds."""
