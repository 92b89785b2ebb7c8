"""The keypad's hardware abstraction: what the app may ask of a board.

The app (``firmware/app``) touches hardware only through these classes.  A
board adapter subclasses them: ``firmware/hal/esp32.py`` for the real keypad
(the only module that may import ``machine``, ``network`` or ``esp32``),
``firmware/hal/sim.py`` for CPython tests and the ``hil/`` rig.

Rules every implementation keeps:

* Nothing here blocks for long: the app calls ``Keys.poll`` and
  ``Leds.tick`` every loop iteration (every few milliseconds).  Only
  ``Nvs.set`` may take a flash write (tens of milliseconds) and
  ``Wifi.connect`` only *starts* a connection (poll ``Wifi.connected``).
* Times are milliseconds from ``Clock.ticks_ms`` and are compared with
  ``Clock.ticks_diff`` (they wrap on MicroPython).
* Link loss surfaces as ``OSError`` (from the network stack); the HAL never
  swallows it silently and never raises it for a local fault.
* Names are plain strings.  Keys: ``checkin``, ``yes``, ``no``, ``abstain``
  and, on keypads with a display, ``up``, ``down``, ``confirm``.  LEDs: the
  key names plus ``status`` (link) and ``recorded``.

The classes are protocols: the board adapters do not subclass them (on the
keypad this module is not even loaded: its classes would only take heap), and
mypy checks that they fit.  Under CPython they are ``runtime_checkable``, so
``isinstance(board.keys, port.Keys)`` checks that an object has every member;
on MicroPython (no ``typing``) they are plain classes that a test build's
:mod:`firmware.app.testchan` subclasses.  Every method raises
NotImplementedError unless a harmless default exists (a subclass, such as
:mod:`firmware.hal.sim`'s, inherits it).
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING or sys.implementation.name != "micropython":
    from typing import Protocol, runtime_checkable
else:  # MicroPython: no typing; plain classes

    def runtime_checkable(cls):  # type: ignore[no-untyped-def]
        return cls

    Protocol = object

__all__ = [
    "BLINK",
    "KEYS_BASIC",
    "KEYS_NAV",
    "LED_EXTRA",
    "MODES",
    "OFF",
    "ON",
    "Board",
    "CardReader",
    "Clock",
    "Display",
    "Keys",
    "Leds",
    "Nvs",
    "Watchdog",
    "Wifi",
]

# LED modes.
OFF = "off"
ON = "on"
BLINK = "blink"
MODES = (OFF, ON, BLINK)

# Key names.  Every keypad has KEYS_BASIC; a keypad with a display also has KEYS_NAV.
KEYS_BASIC = ("checkin", "yes", "no", "abstain")
KEYS_NAV = ("up", "down", "confirm")
# LEDs beyond one per key.
LED_EXTRA = ("status", "recorded")


@runtime_checkable
class Keys(Protocol):
    """The keypad's keys, scanned and debounced by the board."""

    # Names of the keys this board has (a subset of KEYS_BASIC + KEYS_NAV).
    names: "tuple[str, ...]" = KEYS_BASIC

    def poll(self, now_ms: int) -> "list[tuple[str, bool]]":
        """Scan the keys; return a list of ``(key, pressed)`` edges since the last poll.

        ``pressed`` is True for a debounced press and False for its release;
        a key held down reports one press.  Returns ``[]`` when nothing
        changed.  Called every loop iteration: must not block.
        """
        raise NotImplementedError


@runtime_checkable
class Leds(Protocol):
    """The keypad's LEDs: one per key plus ``status`` and ``recorded``."""

    # Names of the LEDs this board has.
    names: "tuple[str, ...]" = KEYS_BASIC + LED_EXTRA

    def set(self, name: str, mode: str) -> None:
        """Set LED ``name`` to ``mode`` (OFF, ON or BLINK).

        An unknown name is ignored (a board may lack an LED).  Setting the
        mode an LED already has is cheap and does not restart its blink.
        """
        raise NotImplementedError

    def tick(self, now_ms: int) -> None:
        """Drive blinking (e.g. 2 Hz, all blinking LEDs in phase); called every loop iteration."""


@runtime_checkable
class Display(Protocol):
    """A small text display (e.g. 128x64 OLED), drawn with the firmware's glyph table."""

    # How many lines of text fit.
    rows: int = 4

    def show(self, lines: "list[str]") -> None:
        """Replace the screen with ``lines`` (a list of str, at most ``rows``).

        Characters missing from the glyph table are skipped (or drawn as a
        box); the call never raises for them.  Must be quick: the app calls
        it only when the text changes.
        """
        raise NotImplementedError


@runtime_checkable
class CardReader(Protocol):
    """An RFID reader for the member's card (optional)."""

    def poll(self) -> "bytes | None":
        """The UID (bytes, 4..10) of the card on the reader now, or None."""
        raise NotImplementedError


@runtime_checkable
class Nvs(Protocol):
    """Non-volatile key/value storage (ESP32 NVS or a file)."""

    def get(self, key: str) -> "bytes | None":
        """The bytes stored under ``key`` (str), or None if never set."""
        raise NotImplementedError

    def set(self, key: str, value: bytes) -> None:
        """Store ``value`` (bytes) under ``key``; durable when this returns.

        A power loss during the call leaves either the old or the new value,
        never a mix.
        """
        raise NotImplementedError


@runtime_checkable
class Wifi(Protocol):
    """The station interface."""

    def connect(self, ssid: str, password: str) -> None:
        """Start joining ``ssid``; returns at once (poll ``connected``)."""
        raise NotImplementedError

    def connected(self) -> bool:
        """True while associated and holding an IP address."""
        raise NotImplementedError

    def rssi(self) -> int:
        """Signal strength in dBm (-128..127); 0 when unknown."""
        return 0


@runtime_checkable
class Watchdog(Protocol):
    """The hardware watchdog: resets the board unless fed in time."""

    def feed(self) -> None:
        """Postpone the reset.  The app calls this only when its loop is healthy."""


@runtime_checkable
class Clock(Protocol):
    """Monotonic milliseconds and (if known) wall-clock time."""

    def ticks_ms(self) -> int:
        """Milliseconds from an arbitrary origin; may wrap (MicroPython)."""
        raise NotImplementedError

    def ticks_diff(self, a: int, b: int) -> int:
        """Signed ``a - b`` in milliseconds, wrap-safe."""
        return a - b

    def time(self) -> "int | None":
        """Unix seconds (int) if the wall clock has been set, else None."""
        return None

    def set(self, unix: int) -> None:
        """Set the wall clock (the RTC) to ``unix`` seconds (see :mod:`firmware.app.timefloor`)."""
        raise NotImplementedError


@runtime_checkable
class Board(Protocol):
    """One keypad's hardware.

    Attributes (set by the adapter): ``keys`` (Keys), ``leds`` (Leds),
    ``display`` (Display or None), ``card`` (CardReader or None), ``nvs``
    (Nvs), ``wifi`` (Wifi), ``watchdog`` (Watchdog), ``clock`` (Clock),
    ``firmware_version`` (``(major, minor, patch)``).
    """

    keys: "Keys"
    leds: "Leds"
    display: "Display | None" = None
    card: "CardReader | None" = None
    nvs: "Nvs"
    wifi: "Wifi"
    watchdog: "Watchdog"
    clock: "Clock"
    firmware_version: "tuple[int, int, int]" = (0, 0, 0)

    def rng(self, n: int) -> bytes:
        """``n`` bytes from the hardware random source (``os.urandom`` on the ESP32).

        Truly random only once the radio is on (the app generates its key
        after Wi-Fi is up).
        """
        raise NotImplementedError

    def battery(self) -> int:
        """Battery charge 0..100 percent, or 255 for mains power / unknown."""
        return 255

    def free_heap(self) -> int:
        """Free heap in bytes (``gc.mem_free()`` on MicroPython)."""
        return 0

    def reset(self) -> None:
        """Hard-reset the board (``machine.reset()``; does not return on the device)."""
        raise NotImplementedError

