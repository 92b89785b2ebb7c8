"""The keypad app on the real MicroPython interpreter (WebAssembly port), as mpy-cross output.

* The transition table built there equals CPython's, cell for cell.
* A representative subset of (state, event) pairs (five states x every
  event) is walked there with the same contexts as test_states.py
  (kpcontexts.py, shipped into the interpreter) and lands where the CPython
  walk says.
* A keypad taken to "recorded" there signs its check-in and vote with a key
  it generated itself; the gateway's verifier accepts every signature, and
  the counters are strictly increasing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from firmware.app import states as S
from gateway.core import signatures as crypto
from protocol import codec, consts

pytestmark = pytest.mark.micropython

HERE = Path(__file__).parent
SUBSET = (S.IDLE, S.MOTION_OPEN, S.SENT, S.RECORDED, S.OFFLINE)

SCRIPT = r"""
import sys
sys.path.append("/data")
import hvhost
import kpcontexts
from firmware.app import states as S

inp = hvhost.load_input()
table = {}
for state in S.STATES:
    for event in S.EVENTS:
        nxt, action = S.transition(state, event)
        table[state + "|" + event] = [nxt, action]
walked = kpcontexts.walk(inp["states"], S.EVENTS)
rig = kpcontexts.in_state(S.RECORDED)
up = [p.hex() for t, p in rig.sent if t.endswith("/up")]
hvhost.result({
    "table": table,
    "walk": walked,
    "state": rig.state,
    "leds": rig.board.leds.modes,
    "lines": rig.board.display.lines,
    "public_key": rig.kp.public_key().hex(),
    "up": up,
    "module": S.__file__,
})
"""


def _load(name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def mp_run(micropython: ModuleType) -> dict[str, object]:
    need_mpy_cross()
    data = {"kpcontexts.py": (HERE / "kpcontexts.py").read_bytes()}
    out = micropython.run_json(SCRIPT, compiled=True, data=data, input_data={"states": list(SUBSET)})
    assert isinstance(out, dict)
    return out


def test_runs_the_compiled_firmware(mp_run: dict[str, object]) -> None:
    assert str(mp_run["module"]).endswith(".mpy")


def test_table_identical_on_micropython(mp_run: dict[str, object]) -> None:
    table = mp_run["table"]
    assert isinstance(table, dict) and len(table) == len(S.STATES) * len(S.EVENTS)
    for state in S.STATES:
        for event in S.EVENTS:
            assert tuple(table[state + "|" + event]) == S.transition(state, event)


def test_subset_walk_on_micropython(mp_run: dict[str, object]) -> None:
    walk = _load("test_states").WALK
    walked = mp_run["walk"]
    assert isinstance(walked, dict)
    for state in SUBSET:
        assert walked[state] == walk[state], state


def test_signed_on_micropython_verified_by_gateway(mp_run: dict[str, object]) -> None:
    assert mp_run["state"] == S.RECORDED
    leds = mp_run["leds"]
    assert isinstance(leds, dict) and leds["yes"] == "on" and leds["recorded"] == "on"
    assert mp_run["lines"] == ["已记录", "赞成"]
    key = bytes.fromhex(str(mp_run["public_key"]))
    frames = [codec.decode(bytes.fromhex(h)) for h in mp_run["up"]]  # type: ignore[attr-defined]
    assert [f.TYPE for f in frames] == [consts.CHECK_IN, consts.VOTE]
    counters = [f.counter for f in frames]  # type: ignore[attr-defined]
    assert counters == sorted(set(counters))
    for raw in mp_run["up"]:  # type: ignore[attr-defined]
        data = bytes.fromhex(raw)
        crypto.verify(key, data[:-64], data[-64:])
