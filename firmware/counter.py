"""The keypad's frame counter: never reused, persisted in NVS before use.

Every uplink frame carries a 32-bit counter the gateway has never seen from
this keypad (SPEC section 3).  Writing NVS for every frame would wear the
flash, so the counter is reserved in blocks:

* NVS holds ``reserved``: the highest value that may already have been
  handed out.  At boot the next value is ``reserved + 1``.
* Before handing out a value above ``reserved``, the counter first writes
  ``reserved = value + block - 1`` (durable when ``Nvs.set`` returns), then
  hands out values up to it without touching NVS.

A crash (power loss, watchdog reset) at any point therefore leaves a gap of
at most one block and never a reuse: a value is handed out only after a
reservation covering it is on flash, and the next boot starts above every
reservation ever written.  The gateway accepts gaps (it keeps the highest
counter it accepted and a window below it).
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from firmware.hal.port import Nvs

if sys.implementation.name != "micropython":  # the keypad imports names, never *
    __all__ = ["COUNTER_MAX", "DEFAULT_BLOCK", "NVS_KEY", "Counter", "CounterExhausted"]

NVS_KEY = "ctr"
DEFAULT_BLOCK = 64
COUNTER_MAX = 0xFFFFFFFF


class CounterExhausted(Exception):
    """Every 32-bit counter value is used: the keypad needs a new identity."""


class Counter:
    """Hands out strictly increasing counters, reserving them in NVS first.

    ``writes`` counts NVS writes (one per ``block`` values handed out).
    """

    def __init__(self, nvs: "Nvs", block: int = DEFAULT_BLOCK, key: str = NVS_KEY) -> None:
        if block < 1:
            raise ValueError("block")  # below 1
        self._nvs = nvs
        self._key = key
        self.block = block
        raw = nvs.get(key)
        if raw is not None and len(raw) != 4:
            # Never guess downwards: an unreadable reservation could hide used values.
            raise ValueError("%s: %d bytes" % (key, len(raw)))  # not 4
        self.reserved = 0 if raw is None else int.from_bytes(raw, "big")
        self._next = self.reserved + 1
        self.writes = 0

    def take(self) -> int:
        """The next counter value; it is covered by a reservation on flash before it is returned."""
        value = self._next
        if value > COUNTER_MAX:
            raise CounterExhausted
        if value > self.reserved:
            limit = value + self.block - 1
            if limit > COUNTER_MAX:
                limit = COUNTER_MAX
            self._nvs.set(self._key, limit.to_bytes(4, "big"))  # durable before use
            self.reserved = limit
            self.writes += 1
        self._next = value + 1
        return value
