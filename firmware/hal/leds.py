"""LEDs with blinking: pure logic over one pin per LED.

:class:`BlinkingLeds` implements :class:`firmware.hal.port.Leds`.  ``set``
records a mode and drives a steady LED at once; ``tick(now_ms)`` drives the
blinking ones, all in phase (a half period on, a half period off, phase taken
from the clock, so a blink started later joins the others).  A pin is only
written when its level changes, so ticking every loop iteration costs one
comparison per LED.  A pin is any object whose ``value(level)`` drives it:
the ESP32 adapter passes its ``machine.Pin`` objects (no closure).  ``value``
receives True for "lit", or False with ``active_low`` (an LED wired to 3V3).
Modes are the strings of :mod:`firmware.hal.port` (``"off"``, ``"on"``,
``"blink"``), written out here so the keypad does not load that module.  What
each LED was set to and shows is kept (``_modes``, ``_levels``, in the order
of ``names``) but has no method: the keypad never asks (each method costs
heap on the keypad; the tests read them).
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DEFAULT_BLINK_MS", "BlinkingLeds"]

# Full blink period: 2 Hz, readable at a glance and distinct from steady light.
DEFAULT_BLINK_MS = 500


class BlinkingLeds:
    """:class:`firmware.hal.port.Leds` over ``pins``: LED name -> a pin whose ``value(lit)`` drives
    it (``value(not lit)`` with ``active_low``).  Every LED starts dark."""

    def __init__(
        self,
        pins: "dict[str, Any]",
        period_ms: int = DEFAULT_BLINK_MS,
        active_low: bool = False,
    ) -> None:
        if period_ms < 2:
            raise ValueError("period_ms must be >= 2")
        self.names = tuple(pins)
        self._pins = tuple(pins[n] for n in self.names)
        self._half = period_ms // 2
        self._modes = ["off"] * len(self.names)  # per LED, in the order of names
        self._levels = bytearray(len(self.names))  # what each LED shows now: 1 = lit
        self._phase = True  # the level blinking LEDs show now
        self._active_low = active_low
        for pin in self._pins:
            pin.value(active_low)  # dark

    def _put(self, index: int, level: bool) -> None:
        if self._levels[index] != level:
            self._levels[index] = level
            self._pins[index].value(level != self._active_low)

    def set(self, name: str, mode: str) -> None:
        if mode not in ("off", "on", "blink"):
            raise ValueError("unknown LED mode %r" % (mode,))
        if name not in self.names:
            return  # a board may lack an LED
        index = self.names.index(name)
        if self._modes[index] == mode:
            return
        self._modes[index] = mode
        self._put(index, self._phase if mode == "blink" else mode == "on")

    def tick(self, now_ms: int) -> None:
        # (now // half) is even in the first half of each period: lit.
        self._phase = (now_ms // self._half) % 2 == 0
        for index in range(len(self.names)):
            if self._modes[index] == "blink":
                self._put(index, self._phase)
