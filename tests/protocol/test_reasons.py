"""protocol.reasons: one closed table, bilingual, acks below 0x10 and refusals above."""

from __future__ import annotations

from hvtest.micropython import micropython_harness  # noqa: F401  (the `micropython` fixture)

from protocol import errors, reasons


def test_codes_and_names_are_unique_bytes() -> None:
    codes = [row[0] for row in reasons.TABLE]
    names = [row[1] for row in reasons.TABLE]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert all(0 <= c <= 0xFF for c in codes)


def test_every_code_has_constant_chinese_and_english_text() -> None:
    for code, name, zh, en in reasons.TABLE:
        assert getattr(reasons, name) == code
        assert name in reasons.__all__
        assert 1 <= len(zh) <= 6, name  # one line on a 128x64 keypad display
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), name
        assert en and en.isascii(), name
        assert reasons.name(code) == name and reasons.text(code) == zh and reasons.english(code) == en
        assert reasons.code_of(name) == code


def test_acceptances_and_refusals_split_at_0x10() -> None:
    acks = {reasons.ACCEPTED, reasons.ALREADY_RECORDED, reasons.REPLACED, reasons.ALREADY_CHECKED_IN}
    for code, *_ in reasons.TABLE:
        assert reasons.is_refusal(code) == (code not in acks)


def test_unknown_code_is_reported_not_raised() -> None:
    assert not reasons.known(0xEE)
    assert reasons.name(0xEE) == "UNKNOWN_REASON_238"
    assert "238" in reasons.english(0xEE)


def test_error_str_names_reason_and_detail() -> None:
    err = errors.SignatureError(reasons.BAD_SIGNATURE, "r out of range")
    assert str(err) == "BAD_SIGNATURE: r out of range"
    assert err.reason == reasons.BAD_SIGNATURE and err.reason_name == "BAD_SIGNATURE"
    assert isinstance(err, errors.ProtocolError)


def test_spec_lists_the_same_table() -> None:
    from pathlib import Path

    spec = (Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md").read_text(encoding="utf-8")
    for code, name, zh, en in reasons.TABLE:
        assert f"| 0x{code:02x} | {name} | {zh} | {en} |" in spec, name


def test_the_texts_module_and_the_codes_agree() -> None:
    from protocol import reason_texts

    assert reasons.TABLE is reason_texts.TABLE
    assert tuple(row[0] for row in reasons.TABLE) == reasons.CODES
    assert all(reasons.known(code) for code in reasons.CODES)
    assert not reasons.known(-1) and not reasons.known(0x100)


TEXTS_ON_MICROPYTHON = r"""
import gc, sys, hvhost
from protocol import reasons

loaded_at_import = "protocol.reason_texts" in sys.modules
await hvhost.collect()
before = gc.mem_alloc()
out = {"text": reasons.text(reasons.NOT_CHECKED_IN), "name": reasons.name(reasons.BUSY),
       "english": reasons.english(reasons.BUSY), "unknown": reasons.name(0xEE),
       "code_of": reasons.code_of("CARD_MISMATCH"), "again": reasons.text(reasons.NOT_CHECKED_IN)}
import protocol
out["kept"] = "protocol.reason_texts" in sys.modules or "reason_texts" in dir(protocol)
await hvhost.collect()
out["grew"] = gc.mem_alloc() - before
out["loaded_at_import"] = loaded_at_import
hvhost.result(out)
"""


def test_a_keypad_loads_the_texts_only_while_it_looks_one_up(micropython) -> None:  # type: ignore[no-untyped-def]
    from hvtest.micropython import need_mpy_cross

    need_mpy_cross()
    out = micropython.run_json(TEXTS_ON_MICROPYTHON, compiled=True)
    assert out["loaded_at_import"] is False and out["kept"] is False
    assert out["text"] == out["again"] == "请先签到" and out["name"] == "BUSY"
    assert out["english"] == reasons.english(reasons.BUSY) and out["unknown"] == "UNKNOWN_REASON_238"
    assert out["code_of"] == reasons.CARD_MISMATCH
    assert out["grew"] < 1024  # the last row asked for, not the table
