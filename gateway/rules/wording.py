"""Rules in words: Chinese first, English available.

Chinese uses 超过 for "more than" and 不少于 for "at least", never 以上,
which in Chinese legal usage includes the number itself and so reads
ambiguously to a lay audience in the hall.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from .counts import Base
from .errors import UnsupportedLanguage
from .threshold import Threshold

__all__ = [
    "LANGS",
    "Lang",
    "base_phrase",
    "check_lang",
    "fraction_phrase",
    "threshold_phrase",
    "zh_number",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ((1000, "千"), (100, "百"), (10, "十"))

_EN_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_EN_ORDINALS = {
    3: "third",
    4: "quarter",
    5: "fifth",
    6: "sixth",
    7: "seventh",
    8: "eighth",
    9: "ninth",
    10: "tenth",
    12: "twelfth",
    20: "twentieth",
}

_BASES: dict[Base, dict[Lang, str]] = {
    Base.ALL_MEMBERS: {"zh": "全体组成人员", "en": "all members"},
    Base.PRESENT: {"zh": "到会人员", "en": "members present"},
    Base.VOTES_CAST: {"zh": "参加表决人数", "en": "votes cast"},
}


def check_lang(lang: object) -> Lang:
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise UnsupportedLanguage(f"language {lang!r} (use 'zh' or 'en')")


def zh_number(n: int) -> str:
    """0 <= n < 10000 in Chinese numerals (十二, 一百零五, 二千); digits beyond."""
    if not 0 <= n < 10000:
        return str(n)
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + (_ZH_DIGITS[n - 10] if n > 10 else "")
    out = ""
    rest = n
    zero_pending = False
    for unit, name in _ZH_UNITS:
        digit, rest = divmod(rest, unit)
        if digit:
            if zero_pending:
                out += "零"
            out += _ZH_DIGITS[digit] + name
            zero_pending = False
        elif out:
            zero_pending = True
    if rest:
        if zero_pending:
            out += "零"
        out += _ZH_DIGITS[rest]
    return out


def fraction_phrase(fraction: Fraction, lang: Lang) -> str:
    """半数 / 三分之二 / 五分之三; "one half" / "two thirds" / "7/25"."""
    lang = check_lang(lang)
    n, d = fraction.numerator, fraction.denominator
    if lang == "zh":
        if (n, d) == (1, 2):
            return "半数"
        return f"{zh_number(d)}分之{zh_number(n)}"
    if (n, d) == (1, 2):
        return "one half"
    if d in _EN_ORDINALS and n < len(_EN_NUMBERS):
        ordinal = _EN_ORDINALS[d]
        return f"{_EN_NUMBERS[n]} {ordinal}{'s' if n > 1 else ''}"
    return f"{n}/{d}"


def base_phrase(base: Base, lang: Lang) -> str:
    return _BASES[base][check_lang(lang)]


def threshold_phrase(subject: str, threshold: Threshold, of: str, lang: Lang) -> str:
    """ "<subject> 超过/不少于 <of> 的 <fraction>" / "<subject> exceed / are at least ..."."""
    lang = check_lang(lang)
    frac = fraction_phrase(threshold.fraction, lang)
    if lang == "zh":
        verb = "超过" if threshold.strict else "不少于"
        return f"{subject}{verb}{of}的{frac}"
    verb = "exceed" if threshold.strict else "are at least"
    return f"{subject} {verb} {frac} of {of}"
