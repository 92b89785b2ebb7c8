"""firmware/app/testchan.py, the bench test channel: a press injected by a line goes through the key driver
and the app signs it; state, LEDs and display are reported on change and on ``?``; bad lines get a typed
refusal and change nothing; the display carries 测试通道 on a free row.  The same walk (tcwalk.py) on CPython and on the real MicroPython interpreter."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from firmware.app import states as S
from firmware.app.testchan import InjectKeys
from firmware.hal.sim import SimClock, SimKeys
from protocol import consts

HERE = Path(__file__).parent


def _load(name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def check_walk(out: dict[str, Any]) -> None:
    said = out["said"]
    first = said[0]
    assert first[0].startswith("H hallvote-testchan 1 kp-1 ")
    tags = [line.split(" ", 1)[0] for line in first[1:]]
    assert tags == ["S", "L", "D"] and first[1] == "S idle"
    assert "checkin=" in first[2] and "status=on" in first[2]
    # bad lines: each refused with its reason, nothing pressed, nothing sent
    refusals = [line for line in said[1] if line.startswith("E ")]
    assert refusals == ["E UNKNOWN_KEY bogus", "E BAD_COMMAND X", "E BAD_HOLD 99999", "E TOO_LONG 82",
                        "E BAD_COMMAND not ASCII"]  # fmt: skip
    assert out["refused"] == 5
    # the check-in press (split across two reads) went through the keys: signed, sent, state reported
    assert "S sent" in said[2]
    assert out["sent"] == [consts.CHECK_IN]  # one signed check-in frame, from that press
    # after the ack: '?' reports everything again
    again = said[3]
    assert [line.split(" ", 1)[0] for line in again] == ["S", "L", "D"]
    assert again[0] == "S " + S.CHECKED_IN
    assert out["state"] == S.CHECKED_IN
    app_lines = again[2][2:].split("|")
    assert out["screen"] == [*app_lines, "测试通道"]  # the channel announces itself on a free row


def test_walk_on_cpython() -> None:
    check_walk(_load("tcwalk").run())


@pytest.mark.micropython
def test_walk_on_micropython(micropython: ModuleType) -> None:
    need_mpy_cross()
    data = {n: (HERE / n).read_bytes() for n in ("kpcontexts.py", "tcwalk.py")}
    script = "import sys\nsys.path.append('/data')\nimport hvhost, tcwalk\nhvhost.result(tcwalk.run())\n"
    check_walk(micropython.run_json(script, compiled=True, data=data))


def test_held_key_is_released_after_its_time() -> None:
    clock = SimClock(manual=True, start=100)
    keys = InjectKeys(SimKeys(), clock)
    keys.inject("yes", 300)
    assert keys.poll(clock.ticks_ms()) == [("yes", True)]
    assert keys.poll(clock.advance(299)) == []
    assert keys.poll(clock.advance(1)) == [("yes", False)]
    keys.inner.press("no")  # type: ignore[attr-defined]
    keys.inject("checkin", 0)
    assert keys.poll(clock.ticks_ms()) == [("no", True), ("no", False), ("checkin", True), ("checkin", False)]
