"""Rules in words, Chinese first, English available."""

from __future__ import annotations

from fractions import Fraction

import pytest

from gateway.rules import (
    CONGRESS_QUORUM,
    CONGRESS_RESOLUTION,
    LIVELIHOOD_PROJECT,
    STANDING_COMMITTEE_QUORUM,
    TWO_THIRDS_OF_ALL_MEMBERS,
    TWO_THIRDS_OF_PRESENT,
    Base,
    PassingRule,
    Threshold,
    UnsupportedLanguage,
    VoteCounts,
    check_quorum,
    decide,
    describe,
)
from gateway.rules.wording import fraction_phrase, zh_number

DESCRIBE = [
    (CONGRESS_RESOLUTION, "赞成票超过全体组成人员的半数", "yes votes exceed one half of all members"),
    (LIVELIHOOD_PROJECT, "赞成票超过到会人员的半数", "yes votes exceed one half of members present"),
    (
        TWO_THIRDS_OF_ALL_MEMBERS,
        "赞成票不少于全体组成人员的三分之二",
        "yes votes are at least two thirds of all members",
    ),
    (
        TWO_THIRDS_OF_PRESENT,
        "赞成票不少于到会人员的三分之二",
        "yes votes are at least two thirds of members present",
    ),
    (
        PassingRule(Base.VOTES_CAST, Threshold(3, 5, strict=True)),
        "赞成票超过参加表决人数的五分之三",
        "yes votes exceed three fifths of votes cast",
    ),
    (CONGRESS_QUORUM, "实到人数超过应到人数的三分之二", "members present exceed two thirds of the roster"),
    (
        STANDING_COMMITTEE_QUORUM,
        "实到人数超过应到人数的半数",
        "members present exceed one half of the roster",
    ),
]


@pytest.mark.parametrize(("rule", "zh", "en"), DESCRIBE)
def test_describe(rule: PassingRule, zh: str, en: str) -> None:
    assert describe(rule) == zh
    assert describe(rule, lang="zh") == zh
    assert describe(rule, lang="en") == en
    assert rule.describe("en") == en


def test_results_state_the_rule_applied() -> None:
    result = decide(VoteCounts(151, 100, 20), expected=300, present=280, rule=CONGRESS_RESOLUTION)
    assert describe(result) == "赞成票超过全体组成人员的半数"
    assert result.summary() == (
        "应到 300 人, 实到 280 人, 赞成 151 票, 反对 100 票, 弃权 20 票, 未按 9 人; "
        "赞成票超过全体组成人员的半数 (至少 151 票): 通过"
    )
    assert result.summary("en").endswith("yes votes exceed one half of all members (at least 151): passed")
    status = check_quorum(300, 200, CONGRESS_QUORUM)
    assert describe(status, "en") == "members present exceed two thirds of the roster"
    assert "尚缺 1 人" in status.describe()


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(UnsupportedLanguage) as err:
        describe(CONGRESS_RESOLUTION, lang="fr")  # type: ignore[arg-type]
    assert err.value.code == "UNSUPPORTED_LANGUAGE"


@pytest.mark.parametrize(
    ("n", "zh"),
    [
        (0, "零"),
        (2, "二"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (45, "四十五"),
        (100, "一百"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (2455, "二千四百五十五"),
        (12000, "12000"),
    ],
)
def test_zh_number(n: int, zh: str) -> None:
    assert zh_number(n) == zh


@pytest.mark.parametrize(
    ("fraction", "zh", "en"),
    [
        (Fraction(1, 2), "半数", "one half"),
        (Fraction(2, 3), "三分之二", "two thirds"),
        (Fraction(3, 4), "四分之三", "three quarters"),
        (Fraction(1, 3), "三分之一", "one third"),
        (Fraction(7, 25), "二十五分之七", "7/25"),
    ],
)
def test_fraction_phrase(fraction: Fraction, zh: str, en: str) -> None:
    assert fraction_phrase(fraction, "zh") == zh
    assert fraction_phrase(fraction, "en") == en
