"""Decoding random and mutated bytes (hil.fuzz): only a typed DecodeError with a refusal code; valid ones round-trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from hil import fuzz
from protocol import codec

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def test_random_and_mutated_frames() -> None:
    FAST(fuzz.decode_property)()


def test_the_property_fails_on_an_untyped_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_data: bytes) -> object:
        raise IndexError("a decoder bug")

    monkeypatch.setattr(codec, "decode", broken)
    with pytest.raises(IndexError):
        fuzz.check_decode(b"\x02\x04", None)
