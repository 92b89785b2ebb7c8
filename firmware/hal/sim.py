"""A simulated keypad board for CPython tests, the ``hil/`` rig and the MicroPython port.

Everything the app can see is observable and drivable:

* ``board.press("yes")`` queues a debounced press and release;
* ``board.leds.modes["yes"]`` is ``"off"``, ``"on"`` or ``"blink"``;
  ``board.display.lines`` the lines on the screen (``None`` for a keypad
  without a display: ``SimBoard(display=False)``);
* NVS is a dict, optionally mirrored to a JSON file so a simulated reboot
  (a new board on the same file) keeps it; ``nvs.crash_on`` injects a crash
  around a chosen write;
* the clock is real (monotonic) or, with ``SimClock(manual=True)``,
  advanced only by ``clock.advance(ms)``;
* Wi-Fi joins at once unless ``wifi.refuse = True``; ``wifi.drop()`` loses it.

Thread note: the integration test drives ``press`` and reads ``modes`` from
another thread; each is a single list/dict operation.
"""

import binascii
import json
import time

from . import port

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "SimBoard",
    "SimCard",
    "SimClock",
    "SimCrash",
    "SimDisplay",
    "SimKeys",
    "SimLeds",
    "SimNvs",
    "SimWatchdog",
    "SimWifi",
    "seeded_rng",
]


class SimCrash(Exception):
    """A simulated power loss, raised by SimNvs around a chosen write."""

    def __init__(self, detail: str = "simulated crash") -> None:
        super().__init__(detail)


def seeded_rng(seed: bytes) -> "Callable[[int], bytes]":
    """A deterministic byte source (SHA-256 in counter mode) for reproducible tests."""
    import hashlib

    state = [0]

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            state[0] += 1
            out += hashlib.sha256(seed + state[0].to_bytes(8, "big")).digest()
        return out[:n]

    return rng


def _os_rng(n: int) -> bytes:
    import os

    return os.urandom(n)


class SimKeys(port.Keys):
    def __init__(self, names: "tuple[str, ...]" = port.KEYS_BASIC) -> None:
        self.names = names
        self._edges: list[tuple[str, bool]] = []

    def press(self, name: str) -> None:
        if name not in self.names:
            raise ValueError("this board has no key %r" % name)
        self._edges.append((name, True))
        self._edges.append((name, False))

    def poll(self, now_ms: int) -> "list[tuple[str, bool]]":
        out = []
        while self._edges:
            out.append(self._edges.pop(0))
        return out


class SimLeds(port.Leds):
    def __init__(self, names: "tuple[str, ...]") -> None:
        self.names = names
        self.modes: dict[str, str] = {}
        for name in names:
            self.modes[name] = port.OFF
        self.changes = 0
        self.ticks = 0

    def set(self, name: str, mode: str) -> None:
        if mode not in port.MODES:
            raise ValueError("LED mode %r" % mode)
        if name in self.modes and self.modes[name] != mode:
            self.modes[name] = mode
            self.changes += 1

    def tick(self, now_ms: int) -> None:
        self.ticks += 1

    def lit(self) -> "list[str]":
        return [n for n in self.names if self.modes[n] == port.ON]

    def blinking(self) -> "list[str]":
        return [n for n in self.names if self.modes[n] == port.BLINK]


class SimDisplay(port.Display):
    def __init__(self, rows: int = 4) -> None:
        self.rows = rows
        self.lines: list[str] = []
        self.shows = 0

    def show(self, lines: "list[str]") -> None:
        self.lines = list(lines[: self.rows])
        self.shows += 1

    def text(self) -> str:
        return "\n".join(self.lines)


class SimCard(port.CardReader):
    def __init__(self, uid: "bytes | None" = None) -> None:
        self.uid = uid

    def poll(self) -> "bytes | None":
        return self.uid


class SimNvs(port.Nvs):
    """A dict; with ``path`` also a JSON file rewritten on every set (hex values).

    ``crash_on = (n, after)`` raises SimCrash at the n-th set from now (1 =
    the next one): before the value is stored (``after`` False) or after it
    is durable (``after`` True).
    """

    def __init__(self, path: "str | None" = None) -> None:
        self.path = path
        self.data: dict[str, bytes] = {}
        self.writes = 0
        self.crash_on: tuple[int, bool] | None = None
        if path is not None:
            try:
                with open(path) as f:
                    raw = json.load(f)
                for key in raw:
                    self.data[key] = binascii.unhexlify(raw[key])
            except OSError:
                pass

    def get(self, key: str) -> "bytes | None":
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        crash_after = False
        if self.crash_on is not None:
            n, after = self.crash_on
            if n > 1:
                self.crash_on = (n - 1, after)
            else:
                self.crash_on = None
                if not after:
                    raise SimCrash("before NVS write of %s" % key)
                crash_after = True
        self.data[key] = bytes(value)
        self.writes += 1
        if self.path is not None:
            hexed = {}
            for k in self.data:
                hexed[k] = binascii.hexlify(self.data[k]).decode()
            with open(self.path, "w") as f:
                json.dump(hexed, f)
        if crash_after:
            raise SimCrash("after NVS write of %s" % key)


class SimWifi(port.Wifi):
    def __init__(self, rssi: int = -55) -> None:
        self.up = False
        self.refuse = False
        self.joins = 0
        self.level = rssi

    def connect(self, ssid: str, password: str) -> None:
        self.joins += 1
        if not self.refuse:
            self.up = True

    def connected(self) -> bool:
        return self.up

    def rssi(self) -> int:
        return self.level if self.up else 0

    def drop(self) -> None:
        self.up = False


class SimWatchdog(port.Watchdog):
    def __init__(self) -> None:
        self.feeds = 0

    def feed(self) -> None:
        self.feeds += 1


class SimClock(port.Clock):
    """Real monotonic milliseconds, or a manual clock advanced by ``advance(ms)``."""

    def __init__(self, manual: bool = False, start: int = 0, unix: "int | None" = None) -> None:
        self.manual = manual
        self.t = start
        self.unix = unix
        ticks = getattr(time, "ticks_ms", None)
        self._ticks = ticks
        self._diff = getattr(time, "ticks_diff", None)

    def ticks_ms(self) -> int:
        if self.manual:
            return self.t
        if self._ticks is not None:
            return int(self._ticks())
        return int(time.monotonic() * 1000)

    def ticks_diff(self, a: int, b: int) -> int:
        if self._diff is not None and not self.manual:
            return int(self._diff(a, b))
        return a - b

    def advance(self, ms: int) -> int:
        self.t += ms
        return self.t

    def time(self) -> "int | None":
        if self.unix is None or self.unix < 1704067200:  # before 2024: never set (the ESP32 starts at 2000)
            return None
        return self.unix

    def set(self, unix: int) -> None:
        self.unix = unix


class SimBoard(port.Board):
    """A keypad: the four basic keys (plus navigation keys when it has a display)."""

    def __init__(
        self,
        display: bool = True,
        card: "bytes | None" = None,
        nvs_path: "str | None" = None,
        clock: "SimClock | None" = None,
        rng: "Callable[[int], bytes] | None" = None,
        firmware_version: "tuple[int, int, int]" = (1, 0, 0),
    ) -> None:
        names = port.KEYS_BASIC + (port.KEYS_NAV if display else ())
        self.keys = SimKeys(names)
        self.leds = SimLeds(names + port.LED_EXTRA)
        self.display = SimDisplay() if display else None
        self.card = SimCard(card) if card is not None else None
        self.nvs = SimNvs(nvs_path)
        self.wifi = SimWifi()
        self.watchdog = SimWatchdog()
        self.clock = clock if clock is not None else SimClock()
        self.firmware_version = firmware_version
        self._rng = rng if rng is not None else _os_rng
        self.battery_level = 255
        self.heap = 80000
        self.resets = 0

    def press(self, name: str) -> None:
        self.keys.press(name)

    def rng(self, n: int) -> bytes:
        return self._rng(n)

    def battery(self) -> int:
        return self.battery_level

    def free_heap(self) -> int:
        return self.heap

    def reset(self) -> None:
        """Counted; the caller stops as if the board had restarted."""
        self.resets += 1
