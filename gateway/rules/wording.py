"""Rules in words: Chinese first, English available.

Counting words as Chinese legal drafting reads them: 以上 / 以下 / 以内 /
不少于 include the number itself; 过半数 / 超过 / 多于 exclude it.  A rule
is stated with 超过 ("more than") or 不少于 ("at least"), which no reader
takes the wrong way; a rule of a known shape (a preset) also carries its
legal wording (e.g. 到会代表半数以上赞成), stated first: see
:func:`legal_wording`.
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
    "legal_wording",
    "threshold_phrase",
    "with_wording",
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


# The legal wording of the rule shapes the hall uses, keyed by what the rule
# measures, its base (None for quorum), and (numerator, denominator, strict).
_LEGAL: dict[tuple[str, Base | None, int, int, bool], tuple[str, str]] = {
    ("quorum", None, 2, 3, False): ("三分之二以上代表出席", "two thirds or more of the deputies present"),
    ("quorum", None, 1, 2, True): ("全体组成人员过半数出席", "more than half of all members present"),
    ("passing", Base.ALL_MEMBERS, 1, 2, True): ("以全体代表的过半数通过", "passed by more than half of all deputies"),
    ("passing", Base.PRESENT, 1, 2, False): ("到会代表半数以上赞成", "yes from half or more of the deputies present"),
    ("passing", Base.PRESENT, 1, 2, True): ("到会代表过半数赞成", "yes from more than half of the deputies present"),
    ("passing", Base.ALL_MEMBERS, 2, 3, False): (
        "全体代表的三分之二以上赞成", "yes from two thirds or more of all deputies"
    ),
    ("passing", Base.PRESENT, 2, 3, False): (
        "到会代表的三分之二以上赞成", "yes from two thirds or more of the deputies present"
    ),
    ("passing", Base.VOTES_CAST, 1, 2, True): ("参加表决人数的过半数赞成", "yes from more than half of the votes cast"),
}  # fmt: skip


def legal_wording(what: str, base: Base | None, threshold: Threshold, lang: Lang) -> str:
    """The legal wording of a known rule shape (以上 includes, 过半数 excludes), or ""."""
    key = (what, base, threshold.numerator, threshold.denominator, threshold.strict)
    words = _LEGAL.get(key)
    return "" if words is None else words[0 if check_lang(lang) == "zh" else 1]


def with_wording(wording: str, phrase: str, lang: Lang) -> str:
    """ "到会代表半数以上赞成（赞成票不少于到会人员的半数）"; the phrase alone without a wording."""
    if not wording:
        return phrase
    return f"{wording}（{phrase}）" if check_lang(lang) == "zh" else f"{wording} ({phrase})"


def threshold_phrase(subject: str, threshold: Threshold, of: str, lang: Lang) -> str:
    """ "<subject> 超过/不少于 <of> 的 <fraction>" / "<subject> exceed / are at least ..."."""
    lang = check_lang(lang)
    frac = fraction_phrase(threshold.fraction, lang)
    if lang == "zh":
        verb = "超过" if threshold.strict else "不少于"
        return f"{subject}{verb}{of}的{frac}"
    verb = "exceed" if threshold.strict else "are at least"
    return f"{subject} {verb} {frac} of {of}"
