"""Key debouncing: pure logic, no hardware (runs on CPython and MicroPython).

A mechanical key bounces for a few milliseconds when it closes or opens.
:class:`Debouncer` turns raw samples into clean edges with a *stable-time*
rule: the debounced state changes only after the raw level has stayed at the
new value for ``settle_ms`` without interruption.  So

* a bounce burst (1,0,1,0,1 ... within a few ms) yields one edge, reported
  ``settle_ms`` after the last bounce;
* a glitch shorter than ``settle_ms`` (ESD, a brushed key) yields nothing;
* a key held down reports one press, however long it is held (no auto
  repeat: a held key must never cast a second vote), and one release.
  ``held_ms`` tells how long the current press has lasted, for the app's
  long-press gestures (e.g. a technician menu);
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
(:class:`EdgeLatch`); the loop replays them before its own scan.  A ghost
interrupt (GPIO 36/39 while ADC1 or Wi-Fi powers up, ESP32 errata 3.11)
reads the unchanged level, so it changes nothing.

:class:`DebouncedKeys` implements :class:`firmware.hal.port.Keys` on top of a
function per key that samples its raw level; the ESP32 adapter passes GPIO
readers, tests pass lists.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Callable

__all__ = ["DEFAULT_SETTLE_MS", "DebouncedKeys", "Debouncer", "EdgeLatch", "plain_diff"]

# Long enough for the bounce of ordinary tactile switches (typically < 10 ms),
# short enough that a press feels instant.
DEFAULT_SETTLE_MS = 20

# The order keys are scanned in: port.KEYS_BASIC + port.KEYS_NAV (written out: the keypad does not
# load firmware.hal.port).
KEY_ORDER = ("checkin", "yes", "no", "abstain", "up", "down", "confirm")


def plain_diff(a: int, b: int) -> int:
    """``a - b``: the ticks difference for clocks that do not wrap."""
    return a - b


class Debouncer:
    """One key's debounce state machine (see the module docstring)."""

    def __init__(
        self, settle_ms: int = DEFAULT_SETTLE_MS, ticks_diff: "Callable[[int, int], int]" = plain_diff
    ) -> None:
        if settle_ms < 0:
            raise ValueError("settle_ms must be >= 0")
        self.settle_ms = settle_ms
        self._diff = ticks_diff
        self.pressed = False  # the debounced state
        self._raw = False  # the last raw sample
        self._since = 0  # when the raw level last changed
        self._pressed_at = 0  # when the debounced press was reported
        self._last = 0  # the time of the last sample
        self._started = False
        # False while a key found down at start-up has not yet been released.
        self._armed = True

    def update(self, raw: bool, now_ms: int) -> "bool | None":
        """Feed one raw sample (True = closed); return True/False on a debounced edge, else None."""
        raw = bool(raw)
        if not self._started:
            self._started = True
            self._raw = raw
            self._since = now_ms
            self._last = now_ms
            if raw:
                self._armed = False
            return None
        if self._diff(now_ms, self._last) < 0:
            return None  # older than a sample already taken (a latched edge read late)
        self._last = now_ms
        if raw != self._raw:
            edge = None
            if self._diff(now_ms, self._since) >= self.settle_ms:
                # the level being left lasted long enough: it counts, even unseen till now
                edge = self._settle(self._raw, self._since)
            self._raw = raw
            self._since = now_ms
            if edge is not None:
                return edge
        if self._diff(now_ms, self._since) < self.settle_ms:
            return None
        return self._settle(raw, now_ms)

    def _settle(self, raw: bool, at: int) -> "bool | None":
        if not self._armed:
            # A key found down at start-up counts only once it has settled open.
            if not raw:
                self._armed = True
            return None
        if raw == self.pressed:
            return None
        self.pressed = raw
        if raw:
            self._pressed_at = at
        return raw

    def held_ms(self, now_ms: int) -> int:
        """How long the current debounced press has lasted (0 when released)."""
        if not self.pressed:
            return 0
        return self._diff(now_ms, self._pressed_at)


class EdgeLatch:
    """A fixed ring of time-stamped key edges, filled from pin interrupts, drained by the loop.

    ``record(index, closed, ticks)`` allocates nothing (it may run in a hard
    interrupt handler); when the ring is full the newest edge is dropped and
    counted in ``overflows`` (the loop's own scan still sees the level).
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._keys = bytearray(size)
        self._times = [0] * size
        self._head = bytearray(2)  # [read, write] positions (bytes: no allocation to update)
        self.overflows = 0

    def record(self, index: int, closed: bool, ticks: int) -> None:
        rd, wr = self._head[0], self._head[1]
        nxt = (wr + 1) % self.size
        if nxt == rd:
            self.overflows += 1
            return
        self._keys[wr] = index | (0x80 if closed else 0)
        self._times[wr] = ticks
        self._head[1] = nxt

    def drain(self) -> "list[tuple[int, bool, int]]":
        """The recorded ``(index, closed, ticks)`` edges, oldest first."""
        out = []
        rd = self._head[0]
        while rd != self._head[1]:
            k = self._keys[rd]
            out.append((k & 0x7F, bool(k & 0x80), self._times[rd]))
            rd = (rd + 1) % self.size
        self._head[0] = rd
        return out


class DebouncedKeys:
    """:class:`port.Keys` over raw readers: ``readers`` maps key name -> ``read() -> bool``.

    ``read()`` returns True while the key is closed (the adapter handles
    active-low wiring).  Keys are scanned in ``order`` (default: the port's
    key order), so simultaneous edges come out in a fixed order.  With a
    ``latch`` (:class:`EdgeLatch`, key index = position in ``names``), the
    edges it recorded are replayed before each scan.
    """

    def __init__(
        self,
        readers: "dict[str, Callable[[], bool]]",
        settle_ms: int = DEFAULT_SETTLE_MS,
        ticks_diff: "Callable[[int, int], int]" = plain_diff,
        latch: "EdgeLatch | None" = None,
    ) -> None:
        for name in readers:
            if name not in KEY_ORDER:
                raise ValueError("unknown key name %r" % (name,))
        self.names = tuple(n for n in KEY_ORDER if n in readers)
        self._scan = [(n, readers[n], Debouncer(settle_ms, ticks_diff)) for n in self.names]
        self.latch = latch

    def poll(self, now_ms: int) -> "list[tuple[str, bool]]":
        edges = []
        if self.latch is not None:
            for index, closed, ticks in self.latch.drain():
                if index < len(self._scan):
                    name, _read, deb = self._scan[index]
                    edge = deb.update(closed, ticks)
                    if edge is not None:
                        edges.append((name, edge))
        for name, read, deb in self._scan:
            edge = deb.update(read(), now_ms)
            if edge is not None:
                edges.append((name, edge))
        return edges

    def is_pressed(self, name: str) -> bool:
        """The debounced state of one key (False for a key the board lacks)."""
        for n, _read, deb in self._scan:
            if n == name:
                return deb.pressed
        return False

    def held_ms(self, name: str, now_ms: int) -> int:
        """How long key ``name`` has been held down (0 when up or unknown)."""
        for n, _read, deb in self._scan:
            if n == name:
                return deb.held_ms(now_ms)
        return 0
