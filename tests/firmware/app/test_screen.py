"""The display's texts as data (firmware/app/screen.py): the choice labels and result texts it carries
are the protocol's, code for code, so the keypad need not load protocol.tables to show them."""

from __future__ import annotations

from firmware.app import screen
from protocol import consts, tables


def test_choice_labels_are_the_protocols_zh_labels() -> None:
    for kind in tables.BALLOT_KINDS:
        labels = consts.CHOICE_LABELS[kind]
        for code, zh, _en in labels:
            assert screen.label(kind, code) == zh, (kind, code)
        assert screen.label(kind, max(c for c, _, _ in labels) + 1) == "?"
        assert screen.label(kind, -1) == "?"
    assert screen.label(max(tables.BALLOT_KINDS) + 1, consts.YES) == "?"


def test_outcome_texts_follow_the_protocols_outcome_codes() -> None:
    texts = screen.TEXTS.split("|")
    expected = {
        tables.OUTCOME_PASSED: "通过",
        tables.OUTCOME_FAILED: "未通过",
        tables.OUTCOME_SELECTED: "入选",
        tables.OUTCOME_NOT_SELECTED: "未入选",
        tables.OUTCOME_TIE: "票数相同",
    }
    assert sorted(expected) == [1, 2, 3, 4, 5] and tables.OUTCOME_NONE == 0
    for code, text in expected.items():
        assert texts[16 + code] == text  # screen's _OUTCOMES + code
