"""Deputy performance rating history (代表履职报告制).

Rules:
- a deputy's report is rated once a year: 优秀 / 满意 / 基本满意 / 不满意;
- 不满意 in two consecutive calendar years -> the deputy is advised to
  resign (劝辞); a year without a rating breaks the run;
- 优秀 in the latest rating -> recommended for renomination
  (优先推荐为新一届人大代表候选人人选);
- the flags concern the latest rating; with ``as_of`` (a year, given by the
  caller: this module reads no clock) they are raised only if the latest
  rating is from that year. Every earlier two-year 不满意 run is kept in
  ``unsatisfied_runs`` for the record.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from .errors import DuplicateYear, InvalidGrade, InvalidRule
from .rating import Grade
from .wording import Lang, check_lang

__all__ = ["HistoryFlag", "RatingHistory", "YearGrade", "evaluate_history"]


class HistoryFlag(enum.Enum):
    ADVISE_RESIGN = "advise_resign"
    """劝辞: 不满意 two consecutive years."""
    RECOMMEND_RENOMINATION = "recommend_renomination"
    """优先推荐连任: latest rating 优秀."""

    def label(self, lang: Lang = "zh") -> str:
        return _FLAG_LABELS[self][check_lang(lang)]


_FLAG_LABELS: dict[HistoryFlag, dict[Lang, str]] = {
    HistoryFlag.ADVISE_RESIGN: {
        "zh": "连续两年被评为不满意, 按程序劝其辞去代表职务",
        "en": "rated unsatisfied two years in a row: advise to resign",
    },
    HistoryFlag.RECOMMEND_RENOMINATION: {
        "zh": "被评为优秀, 优先推荐为新一届代表候选人人选",
        "en": "rated excellent: recommend for renomination",
    },
}


@dataclass(frozen=True)
class YearGrade:
    year: int
    grade: Grade

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int) or self.year < 1:
            raise InvalidRule(f"year must be a positive int, not {self.year!r}")
        if not isinstance(self.grade, Grade):
            raise InvalidGrade(f"{self.grade!r} is not a Grade")


@dataclass(frozen=True)
class RatingHistory:
    records: tuple[YearGrade, ...]
    """By year, oldest first."""
    as_of: int | None
    flags: frozenset[HistoryFlag]
    unsatisfied_runs: tuple[tuple[int, int], ...]
    """Every pair of consecutive years both rated 不满意, oldest first."""

    @property
    def latest(self) -> YearGrade | None:
        return self.records[-1] if self.records else None

    @property
    def advise_resign(self) -> bool:
        return HistoryFlag.ADVISE_RESIGN in self.flags

    @property
    def recommend_renomination(self) -> bool:
        return HistoryFlag.RECOMMEND_RENOMINATION in self.flags


def evaluate_history(
    records: Iterable[YearGrade | tuple[int, Grade]], *, as_of: int | None = None
) -> RatingHistory:
    """Sort a deputy's ratings by year and raise the flags. Refuses two ratings in one year."""
    items: list[YearGrade] = []
    for rec in records:
        if isinstance(rec, YearGrade):
            items.append(rec)
        elif isinstance(rec, tuple) and len(rec) == 2:
            items.append(YearGrade(rec[0], rec[1]))
        else:
            raise InvalidRule(f"a record is a YearGrade or a (year, Grade) pair, not {rec!r}")
    items.sort(key=lambda r: r.year)
    for a, b in pairwise(items):
        if a.year == b.year:
            raise DuplicateYear(f"two ratings for {a.year}")
    if as_of is not None and (isinstance(as_of, bool) or not isinstance(as_of, int)):
        raise InvalidRule("as_of must be a year (int)")
    if as_of is not None and items and items[-1].year > as_of:
        raise InvalidRule(f"a rating for {items[-1].year} is later than as_of {as_of}")

    runs = tuple(
        (a.year, b.year)
        for a, b in pairwise(items)
        if b.year == a.year + 1 and a.grade is Grade.UNSATISFIED and b.grade is Grade.UNSATISFIED
    )
    flags: set[HistoryFlag] = set()
    latest = items[-1] if items else None
    if latest is not None and (as_of is None or latest.year == as_of):
        if runs and runs[-1][1] == latest.year:
            flags.add(HistoryFlag.ADVISE_RESIGN)
        if latest.grade is Grade.EXCELLENT:
            flags.add(HistoryFlag.RECOMMEND_RENOMINATION)
    return RatingHistory(
        records=tuple(items),
        as_of=as_of,
        flags=frozenset(flags),
        unsatisfied_runs=runs,
    )
