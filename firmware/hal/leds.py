"""LEDs with blinking: pure logic over one ``write(level)`` function per LED.

:class:`BlinkingLeds` implements :class:`firmware.hal.port.Leds`.  ``set``
records a mode and drives a steady LED at once; ``tick(now_ms)`` drives the
blinking ones, all in phase (a half period on, a half period off, phase taken
from the clock, so a blink started later joins the others).  A pin is only
written when its level changes, so ticking every loop iteration costs one
comparison per LED.  ``write`` receives True for "lit", or False with
``active_low`` (an LED wired to 3V3): the ESP32 adapter passes each pin's
``value`` method, no closure.  Modes are the strings of :mod:`firmware.hal.port`
(``"off"``, ``"on"``, ``"blink"``), written out here so the keypad does not
load that module.  What each LED was set to and shows is kept (``_modes``,
``_levels``) but has no method: the keypad never asks (each method costs heap
on the keypad; the tests read them).
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Callable

__all__ = ["DEFAULT_BLINK_MS", "BlinkingLeds"]

# Full blink period: 2 Hz, readable at a glance and distinct from steady light.
DEFAULT_BLINK_MS = 500


class BlinkingLeds:
    """:class:`firmware.hal.port.Leds` over ``writers``: LED name -> ``write(lit)`` (``write(not
    lit)`` with ``active_low``)."""

    def __init__(
        self,
        writers: "dict[str, Callable[[bool], object]]",
        period_ms: int = DEFAULT_BLINK_MS,
        active_low: bool = False,
    ) -> None:
        if period_ms < 2:
            raise ValueError("period_ms must be >= 2")
        self.names = tuple(writers)
        self._writers = writers
        self._half = period_ms // 2
        self._modes = {}  # type: dict[str, str]
        self._levels = {}  # type: dict[str, bool]
        self._phase = True  # the level blinking LEDs show now
        self._active_low = active_low
        for name in self.names:
            self._modes[name] = "off"
            self._put(name, False)

    def _put(self, name: str, level: bool) -> None:
        if self._levels.get(name) is not level:
            self._levels[name] = level
            self._writers[name](level != self._active_low)

    def set(self, name: str, mode: str) -> None:
        if mode not in ("off", "on", "blink"):
            raise ValueError("unknown LED mode %r" % (mode,))
        if name not in self._writers or self._modes[name] == mode:
            return
        self._modes[name] = mode
        if mode == "blink":
            self._put(name, self._phase)
        else:
            self._put(name, mode == "on")

    def tick(self, now_ms: int) -> None:
        # (now // half) is even in the first half of each period: lit.
        self._phase = (now_ms // self._half) % 2 == 0
        for name in self.names:
            if self._modes[name] == "blink":
                self._put(name, self._phase)
