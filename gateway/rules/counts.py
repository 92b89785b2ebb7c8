"""Counts the rules work on, and the checks that refuse impossible ones.

应到 (expected) is the body's roster, 实到 (present) those checked in, and a
vote's counts are the accepted presses: 赞成 / 反对 / 弃权. 未按 (not pressed)
is present minus those with an accepted vote.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import CountsInconsistent

__all__ = ["Base", "VoteCounts", "check_attendance", "check_count"]


class Base(enum.Enum):
    """What a passing threshold is a fraction of."""

    ALL_MEMBERS = "all_members"
    """全体组成人员: the roster (应到)."""
    PRESENT = "present"
    """到会人员: members checked in (实到)."""
    VOTES_CAST = "votes_cast"
    """参加表决人数: yes + no + abstain (accepted presses; 未按 excluded)."""


def check_count(name: str, value: object) -> int:
    """Return ``value`` if it is a non-negative int (not a bool), else refuse."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CountsInconsistent(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise CountsInconsistent(f"{name} must not be negative (got {value})")
    return value


def check_attendance(expected: int, present: int) -> None:
    """Refuse an empty roster or more members present than on the roster."""
    check_count("expected", expected)
    check_count("present", present)
    if expected < 1:
        raise CountsInconsistent("a body has at least one member (expected >= 1)")
    if present > expected:
        raise CountsInconsistent(f"present ({present}) exceeds expected ({expected})")


@dataclass(frozen=True)
class VoteCounts:
    """Accepted presses on one question: 赞成 / 反对 / 弃权."""

    yes: int
    no: int = 0
    abstain: int = 0

    def __post_init__(self) -> None:
        check_count("yes", self.yes)
        check_count("no", self.no)
        check_count("abstain", self.abstain)

    @property
    def cast(self) -> int:
        """Members with an accepted vote (yes + no + abstain)."""
        return self.yes + self.no + self.abstain
