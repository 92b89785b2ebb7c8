"""Every refusal is a RuleError with a distinct reason code; the public API is explicit."""

from __future__ import annotations

import importlib

import pytest

import gateway.rules as rules
from gateway.rules import errors

ERROR_CLASSES = [
    cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.RuleError)
]


@pytest.mark.parametrize(
    "cls", [c for c in ERROR_CLASSES if c is not errors.RuleError], ids=lambda c: c.__name__
)
def test_every_error_has_a_known_code(cls: type[errors.RuleError]) -> None:
    assert cls.code in errors.CODES
    assert issubclass(cls, ValueError)


def test_codes_are_distinct() -> None:
    codes = [c.code for c in ERROR_CLASSES if c is not errors.RuleError]
    assert len(codes) == len(set(codes)) == len(errors.CODES)


def test_error_text_carries_code_and_detail() -> None:
    err = errors.CandidateMarginError(11, 10, 12)
    assert str(err) == "CANDIDATE_MARGIN: 11 candidates for 10 projects; at least 12 required"
    assert str(errors.InvalidSeats()) == "INVALID_SEATS"


@pytest.mark.parametrize(
    "module", ["counts", "errors", "history", "livelihood", "passing", "quorum", "rating", "threshold"]
)
def test_package_exports_every_public_name(module: str) -> None:
    mod = importlib.import_module(f"gateway.rules.{module}")
    exported = set(rules.__all__)
    internal = {"check_attendance", "check_count"} | {
        c for c in errors.__all__ if c.isupper() and c != "CODES"
    }
    for name in mod.__all__:
        if name not in internal:
            assert name in exported, name
    for name in rules.__all__:
        assert hasattr(rules, name), name
