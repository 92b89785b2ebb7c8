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
3. **The app** (:func:`firmware.app.main.main`) runs forever.  Any exception
   out of it, at import or later (``MemoryError``, an NVS error, a missing
   CA file, a bad profile, a bug), is caught here: the fault is written to
   NVS (``bf``: ``"<count> <Type>: <text>"``, at most 120 bytes; ``bfc`` the
   count of consecutive faulty boots, u32), shown (display: 启动故障 and the
   exception type; LEDs: status and recorded blinking together), and after
   :func:`fault_delay_ms` (10 s, doubling per consecutive faulty boot up to
   5 min, the watchdog fed meanwhile) the board resets.  A keypad that then
   boots and runs healthily for :data:`STABLE_MS` clears ``bfc`` (see
   :class:`firmware.app.runner.Runner`); ``bf`` stays for the technician.

The hardware comes from :func:`firmware.hal.esp32.boot_hardware` unless a
test passes its own (``hw``) with the same methods.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = [
    "BOOT_WATCHDOG_MS",
    "FAULT_DELAY_MAX_MS",
    "FAULT_DELAY_MS",
    "MAINTENANCE_KEY",
    "NVS_FAULT",
    "NVS_FAULTS",
    "STABLE_MS",
    "fault_delay_ms",
    "main",
]

MAINTENANCE_KEY = "checkin"
BOOT_WATCHDOG_MS = 60000
FAULT_DELAY_MS = 10000
FAULT_DELAY_MAX_MS = 300000
STABLE_MS = 60000
NVS_FAULT = "bf"
NVS_FAULTS = "bfc"
_FAULT_TEXT = 120


def fault_delay_ms(faults: int) -> int:
    """How long a faulty boot shows its fault before the reset (``faults`` >= 1 in a row)."""
    delay = FAULT_DELAY_MS << min(max(faults - 1, 0), 8)
    return delay if delay < FAULT_DELAY_MAX_MS else FAULT_DELAY_MAX_MS


def _count(raw: "bytes | None") -> int:
    return int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else 0


def _describe(exc: BaseException) -> str:
    text = "%s: %s" % (type(exc).__name__, exc)
    return text[:_FAULT_TEXT]


def fault(hw: "Any", exc: BaseException) -> int:
    """Log ``exc`` to NVS and the console, show it, wait, reset.  Returns the delay used
    (the reset does not return on a keypad)."""
    try:  # noqa: SIM105  (MicroPython has no contextlib)
        sys.print_exception(exc)  # type: ignore[attr-defined]  # MicroPython
    except AttributeError:  # CPython tests
        pass
    faults = 1
    try:
        nvs = hw.nvs()
        faults = _count(nvs.get(NVS_FAULTS)) + 1
        nvs.set(NVS_FAULTS, faults.to_bytes(4, "big"))
        nvs.set(NVS_FAULT, ("%d %s" % (faults, _describe(exc))).encode())
    except Exception:  # NVS itself may be the fault: show and reset anyway
        pass
    try:  # noqa: SIM105
        hw.show_fault(["启动故障", type(exc).__name__[:16]])
    except Exception:
        pass
    delay = fault_delay_ms(faults)
    waited = 0
    while waited < delay:
        hw.feed()
        hw.sleep_ms(1000)
        waited += 1000
    hw.reset()
    return delay


def main(hw: "Any" = None, app: "Callable[[], object] | None" = None) -> str:
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

            app = app_main.main
        app()
        return "stopped"
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # MemoryError and SystemExit too: never a dead keypad
        if hw is None:
            raise
        fault(hw, exc)
        return "fault"
