"""Key debouncing: pure logic, no hardware (runs on CPython and MicroPython).

A mechanical key bounces for a few milliseconds when it closes or opens.
:class:`DebouncedKeys` turns each key's raw samples into clean edges with a
*stable-time* rule: the debounced state changes only after the raw level has
stayed at the new value for ``settle_ms`` without interruption.  So

* a bounce burst (1,0,1,0,1 ... within a few ms) yields one edge, reported
  ``settle_ms`` after the last bounce;
* a glitch shorter than ``settle_ms`` (ESD, a brushed key) yields nothing;
* a key held down reports one press, however long it is held (no auto
  repeat: a held key must never cast a second vote), and one release.
  The time of the press is kept in the key's state (``_PRESSED_AT``) for
  long-press gestures; the keypad has none today, so there is no method
  for it (each method costs heap on the keypad; the tests read the state);
* a key already down when scanning starts (a stuck key, an object on the
  keypad) is reported only after it has been released once: power-up never
  produces a press.

Times are the board's ``ticks_ms`` values and are compared with a
``ticks_diff`` function (MicroPython's ticks wrap), injected so tests can
drive the clock.

Samples may come late and time-stamped: when a key's raw level changes, the
level it left is judged by how long it lasted up to that change, so a press
held for 80 ms between two scans 200 ms apart still gives one press and one
release if its edges were recorded when they happened.  On the ESP32 a pin
interrupt records each edge with the level read in the handler and the time
(:meth:`DebouncedKeys.record`, into a fixed ring: the edge latch); the loop
replays them before its own scan.  A ghost interrupt (GPIO 36/39 while ADC1
or Wi-Fi powers up, ESP32 errata 3.11) reads the unchanged level, so it
changes nothing.

:class:`DebouncedKeys` implements :class:`firmware.hal.port.Keys` on top of a
pin per key, any object whose ``value()`` reads the raw level: the ESP32
adapter passes its ``machine.Pin`` objects with ``active_low`` set for keys
that close to GND, and the object's bound :meth:`DebouncedKeys.irq` as the
pins' interrupt handler (no closures: a closure would keep the adapter's
board-building code on the heap); tests pass stand-ins.  One object holds every key's state (a small list
per key) and the latch: on the keypad each class and object costs heap.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["DEFAULT_SETTLE_MS", "KEY_ORDER", "DebouncedKeys", "plain_diff"]

# Long enough for the bounce of ordinary tactile switches (typically < 10 ms),
# short enough that a press feels instant.
DEFAULT_SETTLE_MS = 20

# The order keys are scanned in: port.KEYS_BASIC + port.KEYS_NAV (written out: the keypad does not
# load firmware.hal.port).
KEY_ORDER = ("checkin", "yes", "no", "abstain", "up", "down", "confirm")

# One key's state is a list indexed by these.
_PRESSED = const(0)  # the debounced state
_RAW = const(1)  # the last raw sample
_SINCE = const(2)  # when the raw level last changed
_PRESSED_AT = const(3)  # when the debounced press was reported
_LAST = const(4)  # the time of the last sample
_STARTED = const(5)  # a first sample has been taken
_ARMED = const(6)  # False while a key found down at start-up has not yet been released


def plain_diff(a: int, b: int) -> int:
    """``a - b``: the ticks difference for clocks that do not wrap."""
    return a - b


class DebouncedKeys:
    """:class:`port.Keys` over ``pins``: key name -> a pin whose ``value()`` reads the raw level.

    ``value()`` returns a true level while the key is closed, or a false one
    with ``active_low`` (a key closing to GND).  ``ticks_ms`` is the clock
    :meth:`irq` stamps edges with.  Keys are scanned in the port's key order
    (:data:`KEY_ORDER`), so simultaneous edges come out in a fixed order.
    With ``latch`` > 0, :meth:`record` keeps up to ``latch - 1`` time-stamped
    edges in a fixed ring (key index = position in ``names``), replayed
    before each scan.
    """

    def __init__(
        self,
        pins: "dict[str, Any]",
        settle_ms: int = DEFAULT_SETTLE_MS,
        ticks_diff: "Callable[[int, int], int]" = plain_diff,
        latch: int = 0,
        active_low: bool = False,
        ticks_ms: "Callable[[], int] | None" = None,
    ) -> None:
        if settle_ms < 0:
            raise ValueError("settle_ms must be >= 0")
        for name in pins:
            if name not in KEY_ORDER:
                raise ValueError("unknown key name %r" % (name,))
        self.names = tuple(n for n in KEY_ORDER if n in pins)
        self.pins = tuple(pins[n] for n in self.names)
        self._state: list[list[Any]] = [[False, False, 0, 0, 0, False, True] for _ in self.names]
        self.settle_ms = settle_ms
        self._diff = ticks_diff
        # The edge latch (``latch`` entries): key index | 0x80 when closed, and the ticks, per edge.
        self._ring = bytearray(latch)
        self._times = [0] * latch
        self._head = bytearray(2)  # [read, write] positions (bytes: no allocation to update)
        self.overflows = 0
        self.active_low = active_low
        self.ticks_ms = ticks_ms

    def update(self, index: int, raw: bool, now_ms: int) -> "bool | None":
        """Feed one raw sample (True = closed) of key ``index``; return True/False on a debounced
        edge, else None."""
        k = self._state[index]
        raw = bool(raw)
        if not k[_STARTED]:
            k[_STARTED] = True
            k[_RAW] = raw
            k[_SINCE] = now_ms
            k[_LAST] = now_ms
            if raw:
                k[_ARMED] = False
            return None
        if self._diff(now_ms, k[_LAST]) < 0:
            return None  # older than a sample already taken (a latched edge read late)
        k[_LAST] = now_ms
        if raw != k[_RAW]:
            # the level being left counts if it lasted long enough, even unseen till now
            settled = self._diff(now_ms, k[_SINCE]) >= self.settle_ms
            left, at = k[_RAW], k[_SINCE]  # type: bool, int
            k[_RAW] = raw
            k[_SINCE] = now_ms
        else:
            settled = self._diff(now_ms, k[_SINCE]) >= self.settle_ms
            left, at = raw, now_ms
        if not settled:
            return None
        if not k[_ARMED]:
            # A key found down at start-up counts only once it has settled open.
            if not left:
                k[_ARMED] = True
        elif left != k[_PRESSED]:
            k[_PRESSED] = left
            if left:
                k[_PRESSED_AT] = at
            return left
        if raw == left:
            return None
        # The level left gave no edge: the new one may have settled already (settle_ms 0).
        return self.update(index, raw, now_ms)

    def record(self, index: int, closed: bool, ticks: int) -> None:
        """Latch an edge of key ``index`` read at ``ticks``.  Allocates nothing (it may run in a
        hard interrupt handler); when the ring is full the newest edge is dropped and counted in
        ``overflows`` (the loop's own scan still sees the level)."""
        rd, wr = self._head[0], self._head[1]
        nxt = (wr + 1) % len(self._ring)
        if nxt == rd:
            self.overflows += 1
            return
        self._ring[wr] = index | (0x80 if closed else 0)
        self._times[wr] = ticks
        self._head[1] = nxt

    def irq(self, pin: "Any") -> None:
        """The pin interrupt handler (a hard IRQ when the port allows): latch the edge of the key
        on ``pin`` (one of ``pins``) with the level it reads now.  Allocates nothing: the ESP32
        port hands the handler the same static Pin object ``machine.Pin(n)`` returned."""
        self.record(self.pins.index(pin), bool(pin.value()) != self.active_low, self.ticks_ms())  # type: ignore[misc]

    def drain(self) -> "list[tuple[int, bool, int]]":
        """The latched ``(index, closed, ticks)`` edges, oldest first."""
        out = []
        rd = self._head[0]
        while rd != self._head[1]:
            k = self._ring[rd]
            out.append((k & 0x7F, bool(k & 0x80), self._times[rd]))
            rd = (rd + 1) % len(self._ring)
        self._head[0] = rd
        return out

    def poll(self, now_ms: int) -> "list[tuple[str, bool]]":
        edges = []
        if self._ring:
            for index, closed, ticks in self.drain():
                if index < len(self.names):
                    edge = self.update(index, closed, ticks)
                    if edge is not None:
                        edges.append((self.names[index], edge))
        for index in range(len(self.names)):
            edge = self.update(index, bool(self.pins[index].value()) != self.active_low, now_ms)
            if edge is not None:
                edges.append((self.names[index], edge))
        return edges
