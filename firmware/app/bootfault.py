"""The guarded boot's fault path (:mod:`firmware.app.boot`): log, show, wait, reset.

Loaded only when the guard caught an exception out of the app, so none of
it is in the heap while a healthy keypad runs.  The fault is written to NVS
(``bf``: ``"<count> <Type>: <text>"``, at most 120 bytes; ``bfc`` the count of
consecutive faulty boots, u32), shown (display: 启动故障 and the exception
type; LEDs: status and recorded blinking together), and after
:func:`fault_delay_ms` (the watchdog fed meanwhile) the board resets.
"""

import sys

from .boot import NVS_FAULT, NVS_FAULTS

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FAULT_DELAY_MAX_MS", "FAULT_DELAY_MS", "fault", "fault_delay_ms"]

FAULT_DELAY_MS = 10000
FAULT_DELAY_MAX_MS = 300000
_FAULT_TEXT = 120


def fault_delay_ms(faults: int) -> int:
    """How long a faulty boot shows its fault before the reset (``faults`` >= 1 in a row):
    10 s, doubling per consecutive faulty boot up to 5 min."""
    delay = FAULT_DELAY_MS << min(max(faults - 1, 0), 8)
    return delay if delay < FAULT_DELAY_MAX_MS else FAULT_DELAY_MAX_MS


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
        raw = nvs.get(NVS_FAULTS)
        faults = (int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else 0) + 1
        nvs.set(NVS_FAULTS, faults.to_bytes(4, "big"))
        text = "%d %s" % (faults, ("%s: %s" % (type(exc).__name__, exc))[:_FAULT_TEXT])
        nvs.set(NVS_FAULT, text.encode())
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
