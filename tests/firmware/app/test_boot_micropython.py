"""The guarded boot on the real MicroPython interpreter (WebAssembly port, mpy-cross output), with
the ESP32 adapter over stand-in ``machine``/``esp32``/``network`` modules (tests/firmware/hal/mpstubs).

A crash in the app (a MemoryError; the real app with a profile that does not exist) is written to
NVS, the long boot watchdog was armed before the app and fed during the fault delay, and
``machine.reset()`` ends it; with the maintenance key held nothing starts and no watchdog is armed.
"""

from __future__ import annotations

from pathlib import Path

from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

HAL_TESTS = Path(__file__).parents[1] / "hal"

SCRIPT = r"""
import sys
sys.path.insert(0, "/lib/mpstubs")
import time
import hvhost, fakehw
from firmware.hal import esp32
from firmware.app import boot, config


class NoSleep:  # the fault delay without waiting for it
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff

    @staticmethod
    def sleep_ms(ms):
        pass


esp32._time = NoSleep


def run(app):
    try:
        return boot.main(None, app)
    except SystemExit as e:
        return str(e)


def oom():
    raise MemoryError("memory allocation failed, allocating 4096 bytes")


def real_app_bad_profile():
    from firmware.app import main as app_main
    app_main.main(cfg=config.load(None, {"profile": "no-such-board"}))


out = {}
for name, app in (("oom", oom), ("profile", real_app_bad_profile)):
    fakehw.reset()
    r = {"end": run(app)}
    r["bf"] = fakehw.NVS["hallvote"]["bf"].decode()
    r["bfc"] = list(fakehw.NVS["hallvote"]["bfc"])
    r["wdt"] = fakehw.WDT["timeouts"]
    r["feeds"] = fakehw.WDT["feeds"]
    out[name] = r

fakehw.reset()
fakehw.LEVELS[32] = 0  # the check-in key held at power-on (active low)
out["maintenance"] = {"end": run(oom), "wdt": fakehw.WDT["timeouts"], "status_led": fakehw.LEVELS.get(17),
                      "nvs": sorted(fakehw.NVS.get("hallvote", {}))}
hvhost.result(out)
"""


def test_guarded_boot_on_micropython(micropython, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    import shutil

    stubs = tmp_path / "mpstubs"
    shutil.copytree(HAL_TESTS / "mpstubs", stubs)
    shutil.copyfile(HAL_TESTS / "fakehw.py", stubs / "fakehw.py")
    out = micropython.run_json(SCRIPT, folders=("protocol", "firmware", stubs), compiled=True)
    oom = out["oom"]
    assert oom["end"] == "machine.reset()"
    assert oom["bf"] == "1 MemoryError: memory allocation failed, allocating 4096 bytes"
    assert oom["bfc"] == [0, 0, 0, 1]
    assert oom["wdt"] == [60000]  # the long boot watchdog, armed before the app
    assert oom["feeds"] == 10  # fed through the 10 s fault delay
    prof = out["profile"]
    assert prof["end"] == "machine.reset()"
    assert prof["bf"].startswith("1 ValueError: ") and "no-such-board" in prof["bf"]
    assert prof["wdt"] == [60000]
    m = out["maintenance"]
    assert m == {"end": "maintenance", "wdt": [], "status_led": 1, "nvs": []}
