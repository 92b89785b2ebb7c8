"""The ESP32 board adapter: the keypad HAL (:mod:`firmware.hal.port`) on real hardware.

This is the only module of the firmware that imports ``machine``,
``network`` or ``esp32``.  It is glue: it opens the pins and buses a
hardware profile (:mod:`firmware.hal.profiles`) names and hands the pins'
``value`` methods to the pure parts, which are tested without hardware.
The code that builds the board is :mod:`firmware.hal.esp32_build`, loaded
only while a board is built (and by the guarded boot's hooks) and unloaded
after: nothing the board keeps refers to it.

=============  ===============================  ===================================
port class     here                             logic in
=============  ===============================  ===================================
Keys           GPIO inputs, pull-ups            :mod:`firmware.hal.debounce`
Leds           GPIO outputs                     :mod:`firmware.hal.leds`
Display        SSD1306 on ``machine.I2C``       :mod:`firmware.hal.ssd1306`, ``glyphs``
CardReader     RC522 on ``machine.SPI`` + CS    :mod:`firmware.hal.rc522`
Nvs            ``esp32.NVS`` blobs + commit     (here)
Wifi           ``network.WLAN(STA_IF)``         (here)
Watchdog       ``machine.WDT``, armed lazily    (here)
Clock          ``time`` ticks, ``machine.RTC``  (here: the board is its own clock)
=============  ===============================  ===================================

Local faults never raise ``OSError`` into the app (that means link loss):
a display or card reader that does not answer at start-up is left out
(``display``/``card`` None) and named in ``board.faults``; I2C errors later
are counted in ``board.display_errors``; NVS failures raise RuntimeError.

The display and card-reader wiring is in their drivers
(:func:`firmware.hal.ssd1306.open_display`, :func:`firmware.hal.rc522.open_card`),
loaded only by a board whose profile has one; this module passes them its
``machine`` (and ``time``) module.

Usage (boot)::

    from firmware.hal import esp32
    board = esp32.board(config)     # config: the device config dict
"""

import gc
import os
import sys
import time

import esp32
import machine
import network

from .. import unload

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

    from . import port

# MicroPython's time has ticks_ms, ticks_diff and sleep_ms.
_time = time  # type: Any

__all__ = [
    "BootHardware",
    "Esp32Board",
    "EspNvs",
    "EspWatchdog",
    "EspWifi",
    "board",
    "boot_hardware",
    "hard_reset",
]

# The ESP32 port counted time.time() from 2000-01-01 in older releases.
_EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0
_CLOCK_SET_AFTER = 1704067200  # 2024-01-01: an RTC before this was never set
_NVS_NOT_FOUND = const(0x1102)
_NVS_INVALID_LENGTH = const(0x110C)
_NVS_KEY_MAX = const(15)


class EspNvs:
    """Blobs in one NVS namespace; ``set`` commits before it returns (NVS writes are atomic per key)."""

    def __init__(self, namespace: str = "hallvote") -> None:
        self._nvs = esp32.NVS(namespace)

    @staticmethod
    def _key(key: str) -> str:
        if not key or len(key) > _NVS_KEY_MAX:
            raise ValueError("NVS keys are 1..15 characters: %r" % (key,))
        return key

    def get(self, key: str) -> "bytes | None":
        self._key(key)
        size = 64
        while True:
            buf = bytearray(size)
            try:
                n = self._nvs.get_blob(key, buf)
            except OSError as exc:
                # check_esp_err raises OSError(-code, name) for ESP-IDF errors
                code = exc.args[0] if exc.args else 0
                code = -code if isinstance(code, int) and code < 0 else 0
                if code == _NVS_NOT_FOUND or "NOT_FOUND" in str(exc):
                    return None
                if (code == _NVS_INVALID_LENGTH or "LENGTH" in str(exc)) and size < 4096:
                    size *= 4
                    continue
                raise RuntimeError("NVS get %s: %s" % (key, exc)) from exc
            return bytes(buf[:n])

    def set(self, key: str, value: bytes) -> None:
        self._key(key)
        try:
            self._nvs.set_blob(key, value)
            self._nvs.commit()
        except OSError as exc:
            raise RuntimeError("NVS set %s: %s" % (key, exc)) from exc


class EspWifi:
    def __init__(self, hostname: "str | None" = None) -> None:
        self._wlan = network.WLAN(network.STA_IF)
        self._wlan.active(True)
        # No modem sleep: acks must reach the keypad without beacon-interval delays.
        self.power_save = False
        try:
            self._wlan.config(pm=self._wlan.PM_NONE)
        except (AttributeError, ValueError, OSError):  # older firmware: keep its default
            self.power_save = True
        self.hostname = hostname
        if hostname:
            try:
                network.hostname(hostname)
            except (AttributeError, ValueError, OSError):
                self.hostname = None

    def connect(self, ssid: str, password: str) -> None:
        if self._wlan.isconnected():
            self._wlan.disconnect()
        self._wlan.connect(ssid, password)

    def connected(self) -> bool:
        return bool(self._wlan.isconnected())

    def rssi(self) -> int:
        try:
            return int(self._wlan.status("rssi"))
        except (OSError, ValueError, TypeError):
            return 0

    def ip(self) -> "str | None":
        return self._wlan.ifconfig()[0] if self._wlan.isconnected() else None


class EspWatchdog:
    """``machine.WDT`` at ``timeout_ms``, set by the first ``feed`` (the app's loop).

    The guarded boot has armed a long watchdog already (:mod:`firmware.app.boot`);
    creating ``machine.WDT`` again reconfigures the one ESP32 task watchdog
    (MicroPython 1.27) to this timeout.  Once started it cannot be stopped,
    which is why maintenance mode never starts it.
    """

    def __init__(self, timeout_ms: int = 8000) -> None:
        self.timeout_ms = timeout_ms
        self._wdt = None  # type: Any

    def feed(self) -> None:
        if self._wdt is None:
            self._wdt = machine.WDT(timeout=self.timeout_ms)
        self._wdt.feed()


def _building(what: str, *args: "Any") -> "Any":
    """``esp32_build.<what>(this module, *args)``: the board-building code is needed only at boot,
    so it is loaded for the call and unloaded after it (on MicroPython its code leaves the heap)."""
    from . import esp32_build

    try:
        return getattr(esp32_build, what)(sys.modules[__name__], *args)
    finally:
        unload(__name__ + "_build")


class Esp32Board:
    """The keypad's hardware, built by :func:`board` (:func:`firmware.hal.esp32_build.board`
    sets the attributes).  Of the profile only its name is kept (``profile_name``)."""

    profile_name: str
    faults: "list[str]"
    display_errors: int
    firmware_version: "tuple[int, int, int]"
    ticks_ms: "Callable[[], int]"
    ticks_diff: "Callable[[int, int], int]"
    clock: "port.Clock"
    keys: "port.Keys"
    leds: "port.Leds"
    nvs: "port.Nvs"
    wifi: "port.Wifi"
    watchdog: "port.Watchdog"
    display: "port.Display | None"
    card: "port.CardReader | None"
    # the battery ADC, the divider, the empty and the full mV; None on mains
    _battery: "tuple[Any, float, int, int] | None"

    def time(self) -> "int | None":
        """The clock's ``time()``: Unix seconds, None while the RTC reads before 2024 (never set)."""
        t = int(time.time()) + _EPOCH_OFFSET
        return t if t >= _CLOCK_SET_AFTER else None

    def set(self, unix: int) -> None:
        """The clock's ``set()``: set the RTC (UTC) to ``unix`` seconds."""
        y, mo, d, h, mi, s, wd = time.gmtime(unix - _EPOCH_OFFSET)[:7]
        machine.RTC().datetime((y, mo, d, wd, h, mi, s, 0))

    def rng(self, n: int) -> bytes:
        return os.urandom(n)

    # free_heap() and reset() are the port's own functions (no function of ours: heap)
    free_heap = staticmethod(gc.mem_free)  # type: ignore[attr-defined]  # MicroPython's gc
    reset = staticmethod(machine.reset)

    def battery(self) -> int:
        if not self._battery:
            return 255
        # profiles.battery_percent, written out (profiles is for boot only: unloaded)
        adc, divider, empty, full = self._battery
        if full <= empty:
            return 255
        mv = adc.read_uv() / 1000 * divider
        return int(max(0, min(100, (mv - empty) * 100 // (full - empty))))



class BootHardware:
    """What the guarded boot (:mod:`firmware.app.boot`) needs, before the app or its config.

    Pins come from the build's profile without the device config's overrides
    (the config may be what is broken).  The guard holds this object while the
    app runs, so it keeps little: what it does at boot or after a fault is
    :mod:`firmware.hal.esp32_build`'s, loaded for the call.
    """

    def __init__(self, namespace: str = "hallvote") -> None:
        self.namespace = namespace
        self._wdt = None  # type: Any
        self._fault_leds = []  # type: list[tuple[Any, int]]
        self._lit = False

    def key_held(self, name: str) -> bool:
        """True if the key reads pressed in 5 samples 10 ms apart (no bounce, no glitch)."""
        return bool(_building("key_held", name))

    def maintenance(self) -> None:
        _building("maintenance")

    def arm_watchdog(self, timeout_ms: int) -> None:
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self) -> None:
        if self._wdt is not None:
            self._wdt.feed()

    def nvs(self) -> EspNvs:
        return EspNvs(self.namespace)

    def show_fault(self, lines: "list[str]") -> None:
        self._fault_leds += _building("fault_leds")
        _building("show_fault", self.namespace, lines)

    def sleep_ms(self, ms: int) -> None:
        self._lit = not self._lit
        for pin, dark in self._fault_leds:
            pin.value(dark ^ 1 if self._lit else dark)
        _time.sleep_ms(ms)

    reset = staticmethod(machine.reset)


# machine.reset(): the last resort of /main.py when even the guarded boot cannot load.
hard_reset = machine.reset


def boot_hardware() -> BootHardware:
    """The hardware hooks of the guarded boot (:func:`firmware.app.boot.main`); raises if the
    build's profile is unusable."""
    _building("select", {})
    return BootHardware()


def board(config: "dict[str, Any] | None" = None) -> Esp32Board:
    """The board for the device ``config``: its ``"profile"`` (default: the build's, then
    :data:`profiles.DEFAULT`) with ``"hardware"`` overrides; ``"nvs_namespace"``, ``"hostname"``."""
    return _building("board", config or {})  # type: ignore[no-any-return]
