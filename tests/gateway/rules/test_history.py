"""Deputy performance rating history: 劝辞 after two consecutive 不满意, renomination for 优秀."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    DuplicateYear,
    Grade,
    HistoryFlag,
    InvalidGrade,
    InvalidRule,
    YearGrade,
    evaluate_history,
)

E, S, B, U = Grade.EXCELLENT, Grade.SATISFIED, Grade.BASICALLY_SATISFIED, Grade.UNSATISFIED

# (records, as_of, advise_resign, recommend_renomination, unsatisfied_runs)
HISTORY = [
    ([(2019, U), (2020, U)], None, True, False, [(2019, 2020)]),
    ([(2020, U), (2019, U)], None, True, False, [(2019, 2020)]),  # input order does not matter
    ([(2019, U), (2021, U)], None, False, False, []),  # a gap year breaks the run
    ([(2018, U), (2019, S), (2020, U)], None, False, False, []),
    ([(2019, U), (2020, U), (2021, S)], None, False, False, [(2019, 2020)]),  # kept for the record
    ([(2019, U), (2020, U), (2021, U)], None, True, False, [(2019, 2020), (2020, 2021)]),
    ([(2019, B), (2020, U)], None, False, False, []),  # 基本满意 is not 不满意
    ([(2020, U)], None, False, False, []),
    ([(2020, E)], None, False, True, []),
    ([(2019, E), (2020, S)], None, False, False, []),  # renomination follows the latest rating
    ([(2019, U), (2020, E)], None, False, True, []),
    ([], None, False, False, []),
    # as_of: flags only when the latest rating is from that year
    ([(2020, U), (2021, U)], 2021, True, False, [(2020, 2021)]),
    ([(2020, U), (2021, U)], 2022, False, False, [(2020, 2021)]),
    ([(2021, E)], 2022, False, False, []),
    ([(2022, E)], 2022, False, True, []),
]


@pytest.mark.parametrize(("records", "as_of", "advise", "renominate", "runs"), HISTORY)
def test_evaluate_history(
    records: list[tuple[int, Grade]],
    as_of: int | None,
    advise: bool,
    renominate: bool,
    runs: list[tuple[int, int]],
) -> None:
    history = evaluate_history(records, as_of=as_of)
    assert history.advise_resign is advise
    assert history.recommend_renomination is renominate
    assert list(history.unsatisfied_runs) == runs
    assert [r.year for r in history.records] == sorted(y for y, _ in records)
    assert (HistoryFlag.ADVISE_RESIGN in history.flags) is advise
    assert history.latest == (YearGrade(*max(records)) if records else None)


def test_records_may_be_year_grades() -> None:
    history = evaluate_history([YearGrade(2019, U), YearGrade(2020, U)])
    assert history.flags == {HistoryFlag.ADVISE_RESIGN}
    assert HistoryFlag.ADVISE_RESIGN.label() == "连续两年被评为不满意, 按程序劝其辞去代表职务"
    assert HistoryFlag.RECOMMEND_RENOMINATION.label("en") == "rated excellent: recommend for renomination"


@pytest.mark.parametrize(
    ("records", "as_of", "error"),
    [
        ([(2020, U), (2020, S)], None, DuplicateYear),
        ([(2021, S)], 2020, InvalidRule),  # a rating later than as_of
        ([(0, S)], None, InvalidRule),
        ([("2020", S)], None, InvalidRule),
        ([(2020, "满意")], None, InvalidGrade),
        ([(2020,)], None, InvalidRule),
        ([(2020, S)], "2020", InvalidRule),
    ],
)
def test_bad_histories_are_refused(
    records: list[tuple[int, Grade]], as_of: int | None, error: type[Exception]
) -> None:
    with pytest.raises(error) as err:
        evaluate_history(records, as_of=as_of)
    assert err.value.code in ("DUPLICATE_YEAR", "INVALID_RULE", "INVALID_GRADE")  # type: ignore[attr-defined]


@given(
    years=st.lists(st.integers(2000, 2040), unique=True, max_size=12),
    grades=st.lists(st.sampled_from(list(Grade)), min_size=12, max_size=12),
)
def test_advise_resign_iff_the_last_two_ratings_are_consecutive_unsatisfied(
    years: list[int], grades: list[Grade]
) -> None:
    records = list(zip(years, grades, strict=False))
    history = evaluate_history(records)
    ordered = sorted(records)
    expected = (
        len(ordered) >= 2
        and ordered[-1][0] - ordered[-2][0] == 1
        and ordered[-1][1] is U
        and ordered[-2][1] is U
    )
    assert history.advise_resign is expected
    for a, b in history.unsatisfied_runs:
        assert b == a + 1
        assert dict(records)[a] is U and dict(records)[b] is U
