"""Hardware profiles: which GPIO does what on each keypad board.  Plain data, no hardware.

A profile is a dict; the device config selects one by name (``"profile"``)
and may override parts of it (``"hardware"``, merged one level deep), so a
hall with a slightly different board needs no code change::

    {"profile": "oled-nav-card", "hardware": {"keys": {"confirm": 36}}}

Profile keys (pins are ESP32 GPIO numbers):

``keys``        key name -> input pin (``checkin``, ``yes``, ``no``, ``abstain``,
                optionally ``up``, ``down``, ``confirm``).  Keys close to GND;
                the adapter enables the internal pull-up, except on GPIO
                34-39, which have none and need an external 10 kOhm pull-up.
``key_active_low``  True when a closed key reads 0 (the default wiring).
``leds``        LED name -> output pin (key names plus ``status``, ``recorded``).
``led_active_low``  True when the LED lights at 0 (wired to 3V3).
``i2c``         ``{"id", "scl", "sda", "freq"}`` for the display, or absent.
``display``     ``{"driver": "ssd1306", "width", "height", "addr", "flip",
                "external_vcc"}`` or None.
``spi``         ``{"id", "sck", "mosi", "miso", "baudrate"}`` for the card reader.
``card``        ``{"driver": "rc522", "cs", "rst"}`` or None.
``battery``     ``{"adc", "divider", "empty_mv", "full_mv"}`` or None (mains).
``watchdog_ms`` hardware watchdog timeout.
``module``      the module the pins are for, a key of :data:`MODULES`:
                ``esp32-wroom-32``, ``esp32-wrover`` or ``esp32-s3-psram``.

:func:`validate` checks the pins against the module (:data:`MODULES`): the
GPIOs it has, the ones its flash and PSRAM take (GPIO 6-11 on every ESP32
module; also 16/17 on a WROVER; 26-37 on an ESP32-S3 with octal PSRAM), the
serial console, input-only pins, and the strapping pins read at reset.  A
key is never on a strapping pin (its pull-up, or a press during reset,
changes the boot mode); an LED may be where its wiring holds the level the
normal boot needs (``STRAP_LEVEL``): GPIO 2 and 12 need an LED to GND (LED
active high), GPIO 0 an LED to 3V3 (active low), GPIO 5 and 15 take either.
"""

import sys

from .. import unload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Profile = dict[str, Any]

__all__ = [
    "DEFAULT",
    "FLASH_PINS",
    "INPUT_ONLY",
    "MODULES",
    "PROFILES",
    "battery_percent",
    "input_only",
    "names",
    "pins_of",
    "select",
    "validate",
]

DEFAULT = "keypad4"

FLASH_PINS = (6, 7, 8, 9, 10, 11)  # ESP32 (WROOM-32, WROVER)
INPUT_ONLY = (34, 35, 36, 37, 38, 39)  # ESP32: no output driver, no internal pull resistors
UART0 = (1, 3)

# On CPython the tables are here as module attributes; on MicroPython they are read from
# profile_table only while needed (_table), and the selected module's facts are kept (_KEPT).
if sys.implementation.name != "micropython":
    from .profile_table import MODULES, PROFILES

_KEPT = {}  # type: dict[str, dict[str, Any]]


def _table():  # type: () -> Any
    from . import profile_table

    return profile_table


def _drop_table() -> None:
    """On MicroPython, let the GC take the tables back (they are read again when next needed)."""
    unload(__name__.rpartition(".")[0] + ".profile_table")


def _module(name: "str | None") -> "dict[str, Any] | None":
    """The module table entry for ``name`` (kept once a profile on it was selected)."""
    if name in _KEPT or not name:
        return _KEPT.get(name or "")
    module = _table().MODULES.get(name)  # type: dict[str, Any] | None
    _drop_table()
    return module


_KEY_NAMES = ("checkin", "yes", "no", "abstain", "up", "down", "confirm")
_LED_NAMES = ("checkin", "yes", "no", "abstain", "status", "recorded")


def names() -> "list[str]":
    found = sorted(_table().PROFILES)
    _drop_table()
    return found


def select(config: "dict[str, Any] | None" = None, default: "str | None" = None) -> "Profile":
    """The profile the config names (``"profile"``), with its ``"hardware"`` overrides merged.

    ``default`` is used when the config names none (the build's ``--profile``),
    then :data:`DEFAULT`.  Raises ValueError for an unknown name or an invalid result.
    """
    config = config or {}
    name = config.get("profile") or default or DEFAULT
    table = _table()
    if name not in table.PROFILES:
        known = sorted(table.PROFILES)
        _drop_table()
        raise ValueError("unknown hardware profile %r (known: %s)" % (name, ", ".join(known)))
    profile = {}  # type: Profile
    for key, value in table.PROFILES[name].items():
        profile[key] = dict(value) if isinstance(value, dict) else value
    del table
    _drop_table()
    for key, value in (config.get("hardware") or {}).items():
        if isinstance(value, dict) and isinstance(profile.get(key), dict):
            profile[key].update(value)
        else:
            profile[key] = value
    profile["name"] = name
    problems = validate(profile)
    module = _module(profile.get("module"))
    if module is not None:
        _KEPT[profile["module"]] = module
    if problems:
        raise ValueError("hardware profile %r: %s" % (name, "; ".join(problems)))
    return profile


def pins_of(profile: "Profile") -> "list[tuple[str, int]]":
    """Every ``(use, pin)`` the profile claims, e.g. ``("key checkin", 32)``."""
    uses = []
    for name, pin in sorted(profile.get("keys", {}).items()):
        uses.append(("key " + name, pin))
    for name, pin in sorted(profile.get("leds", {}).items()):
        uses.append(("led " + name, pin))
    if profile.get("display"):
        i2c = profile.get("i2c") or {}
        uses += [("i2c scl", i2c.get("scl")), ("i2c sda", i2c.get("sda"))]
    if profile.get("card"):
        spi = profile.get("spi") or {}
        uses += [("spi sck", spi.get("sck")), ("spi mosi", spi.get("mosi")), ("spi miso", spi.get("miso"))]
        uses += [("card cs", profile["card"].get("cs")), ("card rst", profile["card"].get("rst"))]
    if profile.get("battery"):
        uses.append(("battery adc", profile["battery"].get("adc")))
    return uses


def input_only(profile: "Profile") -> "tuple[int, ...]":
    """The profile's module's input-only GPIOs (no output driver, no pull resistors)."""
    module = _module(profile.get("module"))
    return tuple(module["input_only"]) if module else INPUT_ONLY


def _strap_problem(use: str, pin: int, need: "int | None", profile: "Profile") -> "str | None":
    if use.startswith("key "):
        return "%s: GPIO %d is a strapping pin (a key there can change the boot mode)" % (use, pin)
    if use.startswith("led ") and need is not None:
        level = 1 if profile.get("led_active_low", False) else 0  # an idle LED holds its pin here
        if level != need:
            return "%s: GPIO %d is a strapping pin that must be %s at reset; wire the LED to %s" % (
                use, pin, "high" if need else "low", "3V3" if need else "GND")  # fmt: skip
    if use in ("battery adc", "spi miso"):  # inputs driven by outside circuits at reset
        return "%s: GPIO %d is a strapping pin" % (use, pin)
    return None


def validate(profile: "Profile") -> "list[str]":
    """Problems with a profile (an empty list when it is usable)."""
    problems = []
    module = _module(profile.get("module"))
    if module is None:
        known = sorted(_table().MODULES)
        _drop_table()
        problems.append("module %r is not one of %s" % (profile.get("module"), ", ".join(known)))
        module = _module("esp32-wroom-32")
        assert module is not None
    keys = profile.get("keys") or {}
    for name in ("checkin", "yes", "no", "abstain"):
        if name not in keys:
            problems.append("key %s has no pin" % name)
    for name in keys:
        if name not in _KEY_NAMES:
            problems.append("unknown key %r" % name)
    for name in profile.get("leds") or {}:
        if name not in _LED_NAMES:
            problems.append("unknown LED %r" % name)
    display = profile.get("display")
    if display:
        if display.get("driver") != "ssd1306":
            problems.append("display driver %r is not supported" % display.get("driver"))
        if not profile.get("i2c"):
            problems.append("a display needs an i2c bus")
        if display.get("height", 64) % 8:
            problems.append("display height must be a multiple of 8")
    card = profile.get("card")
    if card:
        if card.get("driver") != "rc522":
            problems.append("card driver %r is not supported" % card.get("driver"))
        if not profile.get("spi"):
            problems.append("a card reader needs an spi bus")
    seen = {}  # type: dict[int, str]
    reserved = module["reserved"]
    strapping = module["strapping"]
    for use, pin in pins_of(profile):
        if not isinstance(pin, int) or pin not in module["gpios"]:
            problems.append("%s: %r is not a usable GPIO" % (use, pin))
            continue
        if pin in reserved:
            problems.append(
                "%s: GPIO %d is not a usable GPIO on %s (%s)" % (use, pin, profile["module"], reserved[pin])
            )
            continue
        if pin in module["console"]:
            problems.append("%s: GPIO %d is the serial console" % (use, pin))
        if pin in strapping:
            problem = _strap_problem(use, pin, strapping[pin], profile)
            if problem:
                problems.append(problem)
        if pin in seen:
            problems.append("GPIO %d used twice (%s, %s)" % (pin, seen[pin], use))
        seen[pin] = use
        output = use.startswith("led ") or use in (
            "spi sck",
            "spi mosi",
            "card cs",
            "card rst",
            "i2c scl",
            "i2c sda",
        )
        if output and pin in module["input_only"]:
            problems.append("%s: GPIO %d is input-only" % (use, pin))
    return problems


def battery_percent(mv: float, battery: "dict[str, Any]") -> int:
    """``port.Board.battery()`` from the battery voltage in mV: 0..100, linear between the profile's
    ``empty_mv`` and ``full_mv`` (a profile's ``battery``); 255 when they make no range."""
    empty = battery.get("empty_mv", 3300)
    full = battery.get("full_mv", 4150)
    if full <= empty:
        return 255
    pct = (mv - empty) * 100 // (full - empty)
    return int(max(0, min(100, pct)))
