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
    (
        CONGRESS_RESOLUTION,
        "以全体代表的过半数通过（赞成票超过全体组成人员的半数）",
        "passed by more than half of all deputies (yes votes exceed one half of all members)",
    ),
    (
        LIVELIHOOD_PROJECT,
        "到会代表半数以上赞成（赞成票不少于到会人员的半数）",
        "yes from half or more of the deputies present (yes votes are at least one half of members present)",
    ),
    (
        TWO_THIRDS_OF_ALL_MEMBERS,
        "全体代表的三分之二以上赞成（赞成票不少于全体组成人员的三分之二）",
        "yes from two thirds or more of all deputies (yes votes are at least two thirds of all members)",
    ),
    (
        TWO_THIRDS_OF_PRESENT,
        "到会代表的三分之二以上赞成（赞成票不少于到会人员的三分之二）",
        "yes from two thirds or more of the deputies present "
        "(yes votes are at least two thirds of members present)",
    ),
    (  # a rule of no known shape is stated exactly, without a legal wording
        PassingRule(Base.VOTES_CAST, Threshold(3, 5, strict=True)),
        "赞成票超过参加表决人数的五分之三",
        "yes votes exceed three fifths of votes cast",
    ),
    (
        CONGRESS_QUORUM,
        "三分之二以上代表出席（实到人数不少于应到人数的三分之二）",
        "two thirds or more of the deputies present (members present are at least two thirds of the roster)",
    ),
    (
        STANDING_COMMITTEE_QUORUM,
        "全体组成人员过半数出席（实到人数超过应到人数的半数）",
        "more than half of all members present (members present exceed one half of the roster)",
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
    assert describe(result) == "以全体代表的过半数通过（赞成票超过全体组成人员的半数）"
    assert result.summary() == (
        "应到 300 人, 实到 280 人, 赞成 151 票, 反对 100 票, 弃权 20 票, 未按 9 人; "
        "以全体代表的过半数通过（赞成票超过全体组成人员的半数） (至少 151 票): 通过"
    )
    assert result.summary("en").endswith("(yes votes exceed one half of all members) (at least 151): passed")
    status = check_quorum(327, 217, CONGRESS_QUORUM)
    assert describe(status, "en").startswith("two thirds or more of the deputies present")
    assert "尚缺 1 人" in status.describe() and "三分之二以上" in status.describe()


def test_every_preset_carries_its_legal_wording() -> None:
    from gateway.rules import PASSING_PRESETS, QUORUM_PRESETS

    for rule in [*PASSING_PRESETS.values(), *QUORUM_PRESETS.values()]:
        zh = describe(rule)
        assert "（" in zh and ("以上" in zh or "过半数" in zh), zh
        # 以上 goes with 不少于 (includes the number), 过半数 with 超过 (excludes it)
        assert ("以上" in zh) == ("不少于" in zh) and ("过半数" in zh) == ("超过" in zh), zh


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
