"""The guarded boot: maintenance mode, an early long watchdog, and no dead keypad after a crash.

``/main.py`` (shipped from ``firmware/main.py``) calls :func:`main`.  In order:

1. **Maintenance mode.**  If the maintenance key (the check-in key as wired
   in the build's profile: GPIO 32 on the ESP32 profiles, 4 on the S3) is held at
   power-on, nothing else starts: no app, no watchdog, no Wi-Fi.  The
   status LED is lit steadily, the console says so, and the REPL is free
   for provisioning (``hallvote provision``) or ``mpremote``.  Release the
   key and press reset to leave.
2. **An early long watchdog** (:data:`BOOT_WATCHDOG_MS`, 60 s) is armed
   before anything that can hang or fail: importing the app, reading NVS,
   the CA file, the profile.  The app's loop later shortens it to the
   profile's ``watchdog_ms`` (8 s) at its first feed (MicroPython 1.27 on
   the ESP32 reconfigures the one task watchdog when ``machine.WDT`` is
   created again).
3. **The app** runs forever: :func:`firmware.app.main.start` builds the
   keypad, unloads its own module and returns the loop, which this guard
   runs (``app``, a test's stand-in, may instead run and return None).  Any exception
   out of it, at import or later (``MemoryError``, an NVS error, a missing
   CA file, a bad profile, a bug), is caught here: the fault is written to
   NVS (``bf``: ``"<count> <Type>: <text>"``, at most 120 bytes; ``bfc`` the
   count of consecutive faulty boots, u32), shown (display: 启动故障 and the
   exception type; LEDs: status and recorded blinking together), and after
   :func:`firmware.app.bootfault.fault_delay_ms` (10 s, doubling per consecutive faulty boot up to
   5 min, the watchdog fed meanwhile) the board resets.  A keypad that then
   boots and runs healthily for :data:`STABLE_MS` clears ``bfc`` (see
   :class:`firmware.app.runner.Runner`); ``bf`` stays for the technician.
   That fault path is :mod:`firmware.app.bootfault`, imported only when a
   fault is caught, so only this small guard is resident while the app runs
   (if even that import fails, ``/main.py`` prints the error and resets).

The hardware comes from :func:`firmware.hal.esp32.boot_hardware` unless a
test passes its own (``hw``) with the same methods.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

if sys.implementation.name != "micropython":
    __all__ = [
        "BOOT_WATCHDOG_MS",
        "MAINTENANCE_KEY",
        "NVS_FAULT",
        "NVS_FAULTS",
        "STABLE_MS",
        "main",
    ]

# What stays resident while the app runs (this module's frame is under the app's on the stack) is
# only this guard: the fault path (log to NVS, show, wait, reset) is firmware.app.bootfault, loaded
# when a fault happens.
MAINTENANCE_KEY = "checkin"
BOOT_WATCHDOG_MS = 60000
STABLE_MS = 60000
NVS_FAULT = "bf"
NVS_FAULTS = "bfc"


def main(hw: "Any" = None, app: "Callable[[], Any] | None" = None) -> str:
    """Boot the keypad (see the module docstring).  Returns "maintenance", or "fault" /
    "stopped" where a test's ``hw.reset`` returns."""
    try:
        if hw is None:
            from firmware.hal import esp32

            hw = esp32.boot_hardware()
        if hw.key_held(MAINTENANCE_KEY):
            hw.maintenance()
            print("hallvote: maintenance mode: no app, no watchdog; the REPL is free")
            return "maintenance"
        hw.arm_watchdog(BOOT_WATCHDOG_MS)
        if app is None:
            from . import main as app_main

            app = app_main.start
            del app_main
        run = app()  # the keypad built; firmware.app.main unloaded itself
        app = None  # so that nothing here keeps its code
        if run is not None:
            import asyncio

            asyncio.run(run)
        return "stopped"
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # MemoryError and SystemExit too: never a dead keypad
        if hw is None:
            raise
        from . import bootfault  # only now: the app's objects are garbage, so there is room for it

        bootfault.fault(hw, exc)
        return "fault"
