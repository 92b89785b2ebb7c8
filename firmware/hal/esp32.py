"""The ESP32 board adapter: the keypad HAL (:mod:`firmware.hal.port`) on real hardware.

This is the only module of the firmware that imports ``machine``,
``network`` or ``esp32``.  It is glue: it opens the pins and buses a
hardware profile (:mod:`firmware.hal.profiles`) names and hands plain
functions to the pure parts, which are tested without hardware:

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
from ..version import VERSION
from . import debounce, leds

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


def _esp_code(exc: OSError) -> int:
    # check_esp_err raises OSError(-code, name) for ESP-IDF errors.
    code = exc.args[0] if exc.args else 0
    return -code if isinstance(code, int) and code < 0 else 0


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
                code = _esp_code(exc)
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


def _key_pin(pin_no: int, active_low: bool, input_only: "tuple[int, ...]") -> "tuple[Any, Callable[[], bool]]":
    """The key's input Pin and a reader returning True while the key is closed."""
    pull = None
    if pin_no not in input_only:  # input-only pins (GPIO 34-39 on an ESP32) have no pulls
        pull = machine.Pin.PULL_UP if active_low else machine.Pin.PULL_DOWN
    pin = machine.Pin(pin_no, machine.Pin.IN, pull)
    value = pin.value
    if active_low:
        return pin, lambda: not value()
    return pin, lambda: bool(value())


def _latched_keys(profile: "dict[str, Any]", no_pull: "tuple[int, ...]") -> debounce.DebouncedKeys:
    """Debounced keys whose edges are also latched by pin interrupts (hard IRQ when the port
    allows), so a press shorter than a slow loop iteration is not lost."""
    active_low = profile.get("key_active_low", True)
    pins = {name: _key_pin(pin, active_low, no_pull) for name, pin in profile["keys"].items()}
    readers = {name: pins[name][1] for name in pins}
    keys = debounce.DebouncedKeys(readers, ticks_diff=_time.ticks_diff, latch=32)
    both = machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING
    ticks = _time.ticks_ms
    for index, name in enumerate(keys.names):
        pin = pins[name][0]

        # may run as a hard IRQ: allocates nothing (the key's index and reader are bound here)
        def handler(_pin: "Any", index: int = index, read: "Callable[[], bool]" = readers[name]) -> None:
            keys.record(index, read(), ticks())

        try:
            pin.irq(handler=handler, trigger=both, hard=True)
        except TypeError:  # a port without hard pin interrupts: a soft one still latches
            pin.irq(handler=handler, trigger=both)
    return keys


def _led_writer(pin_no: int, active_low: bool) -> "Callable[[bool], None]":
    off = 1 if active_low else 0
    value = machine.Pin(pin_no, machine.Pin.OUT, value=off).value
    return lambda lit: value(off ^ 1 if lit else off)


def _select(config: "dict[str, Any]") -> "tuple[dict[str, Any], tuple[int, ...]]":
    """The profile for ``config`` (:func:`profiles.select`, build's profile as the default) and its
    module's input-only pins.  The profile code is needed only here, at boot: it is unloaded after."""
    from . import profiles

    try:
        from . import build_info  # type: ignore[attr-defined]  # generated by the build

        built = str(build_info.PROFILE) if build_info.PROFILE else None
    except ImportError:
        built = None
    try:
        profile = profiles.select(config, built)
        return profile, profiles.input_only(profile)
    finally:
        unload(__name__.rpartition(".")[0] + ".profiles")


class Esp32Board:
    """The keypad's hardware per ``profile`` (a dict from :func:`profiles.select`); keys on the
    ``input_only`` pins get no internal pull (GPIO 34-39 on an ESP32)."""

    def __init__(
        self,
        profile: "dict[str, Any]",
        input_only: "tuple[int, ...]",
        nvs_namespace: str = "hallvote",
        hostname: "str | None" = None,
    ) -> None:
        self.profile = profile
        self.faults = []  # type: list[str]
        self.display_errors = 0
        self.firmware_version = VERSION
        # The board is its own clock (port.Clock: one class fewer on the heap): ticks are the time
        # module's own functions; time() and set() are below.
        self.ticks_ms = _time.ticks_ms
        self.ticks_diff = _time.ticks_diff
        self.clock: port.Clock = self
        self.keys: port.Keys = _latched_keys(profile, input_only)
        self.leds: port.Leds = leds.BlinkingLeds(
            {
                name: _led_writer(pin, profile.get("led_active_low", False))
                for name, pin in profile["leds"].items()
            }
        )
        self.nvs: port.Nvs = EspNvs(nvs_namespace)
        self.wifi: port.Wifi = EspWifi(hostname)
        self.watchdog: port.Watchdog = EspWatchdog(profile.get("watchdog_ms", 8000))
        self.display: port.Display | None = None
        self.card: port.CardReader | None = None
        if profile.get("display") and profile.get("i2c"):
            from . import ssd1306  # only boards with a display pay for these

            self.display = ssd1306.open_display(self, machine, profile["display"], profile["i2c"])
        if profile.get("card") and profile.get("spi"):
            from . import rc522  # only boards with a card reader pay for it

            self.card = rc522.open_card(self, machine, _time, profile["card"], profile["spi"])
        self._battery = profile.get("battery")
        self._adc = None
        if self._battery:
            self._adc = machine.ADC(machine.Pin(self._battery["adc"]))
            self._adc.atten(machine.ADC.ATTN_11DB)  # full scale ~3.1 V

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

    def battery(self) -> int:
        if self._adc is None or not self._battery:
            return 255
        # profiles.battery_percent, written out (profiles is for boot only: unloaded)
        mv = self._adc.read_uv() / 1000 * self._battery.get("divider", 2.0)
        empty = self._battery.get("empty_mv", 3300)
        full = self._battery.get("full_mv", 4150)
        if full <= empty:
            return 255
        return int(max(0, min(100, (mv - empty) * 100 // (full - empty))))

    def free_heap(self) -> int:
        return int(gc.mem_free())  # type: ignore[attr-defined]  # MicroPython's gc

    def reset(self) -> None:
        machine.reset()


class BootHardware:
    """What the guarded boot (:mod:`firmware.app.boot`) needs, before the app or its config.

    Pins come from the build's profile without the device config's overrides
    (the config may be what is broken).
    """

    def __init__(self, namespace: str = "hallvote") -> None:
        self.profile, self._no_pull = _select({})
        self.namespace = namespace
        self._wdt = None  # type: Any
        self._fault_leds = []  # type: list[Callable[[bool], None]]
        self._lit = False

    def key_held(self, name: str) -> bool:
        """True if the key reads pressed in 5 samples 10 ms apart (no bounce, no glitch)."""
        pin = self.profile["keys"].get(name)
        if pin is None:
            return False
        read = _key_pin(pin, self.profile.get("key_active_low", True), self._no_pull)[1]
        for _ in range(5):
            if not read():
                return False
            _time.sleep_ms(10)
        return True

    def _led(self, name: str) -> "Callable[[bool], None] | None":
        pin = self.profile["leds"].get(name)
        return _led_writer(pin, self.profile.get("led_active_low", False)) if pin is not None else None

    def maintenance(self) -> None:
        led = self._led("status")
        if led is not None:
            led(True)

    def arm_watchdog(self, timeout_ms: int) -> None:
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self) -> None:
        if self._wdt is not None:
            self._wdt.feed()

    def nvs(self) -> EspNvs:
        return EspNvs(self.namespace)

    def show_fault(self, lines: "list[str]") -> None:
        for name in ("status", "recorded"):
            led = self._led(name)
            if led is not None:
                self._fault_leds.append(led)
        if self.profile.get("display"):
            Esp32Board(self.profile, self._no_pull, self.namespace).display.show(lines)  # type: ignore[union-attr]

    def sleep_ms(self, ms: int) -> None:
        self._lit = not self._lit
        for led in self._fault_leds:
            led(self._lit)
        _time.sleep_ms(ms)

    def reset(self) -> None:
        machine.reset()


def hard_reset() -> None:
    """``machine.reset()``: the last resort of ``/main.py`` when even the guarded boot cannot load."""
    machine.reset()


def boot_hardware() -> BootHardware:
    """The hardware hooks of the guarded boot (:func:`firmware.app.boot.main`)."""
    return BootHardware()


def board(config: "dict[str, Any] | None" = None) -> Esp32Board:
    """The board for the device ``config``: its ``"profile"`` (default: the build's, then
    :data:`profiles.DEFAULT`) with ``"hardware"`` overrides; ``"nvs_namespace"``, ``"hostname"``."""
    config = config or {}
    profile, no_pull = _select(config)
    return Esp32Board(profile, no_pull, config.get("nvs_namespace", "hallvote"), config.get("hostname"))
