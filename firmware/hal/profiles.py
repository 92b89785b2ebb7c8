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
_ESP32_GPIOS = tuple(p for p in range(40) if p not in (20, 24, 28, 29, 30, 31))

# Per module: GPIOs that exist, reserved ones (pin -> why), the serial console,
# input-only pins, and strapping pins -> the level each must have at reset.
# A strapping level of None: either level boots normally (only the boot log
# or SDIO timing changes).  Levels for an LED: 0 when it is wired to GND
# (active high, "led_active_low": False), 1 when wired to 3V3.
MODULES = {  # type: dict[str, dict[str, Any]]
    "esp32-wroom-32": {
        "chip": "esp32",
        "gpios": _ESP32_GPIOS,
        "reserved": {6: "flash", 7: "flash", 8: "flash", 9: "flash", 10: "flash", 11: "flash"},
        "console": UART0,
        "input_only": INPUT_ONLY,
        "strapping": {0: 1, 2: 0, 5: None, 12: 0, 15: None},
    },
    "esp32-wrover": {
        "chip": "esp32",
        "gpios": _ESP32_GPIOS,
        "reserved": {
            6: "flash",
            7: "flash",
            8: "flash",
            9: "flash",
            10: "flash",
            11: "flash",
            16: "PSRAM",
            17: "PSRAM",
        },
        "console": UART0,
        "input_only": INPUT_ONLY,
        "strapping": {0: 1, 2: 0, 5: None, 12: 0, 15: None},
    },
    # ESP32-S3-WROOM-1 N16R8 and the like: quad flash on 26-32, octal PSRAM on 33-37.
    "esp32-s3-psram": {
        "chip": "esp32s3",
        "gpios": tuple(range(22)) + tuple(range(26, 49)),
        "reserved": dict(
            [(p, "flash") for p in range(26, 33)]
            + [(p, "PSRAM") for p in range(33, 38)]
            + [(19, "USB"), (20, "USB")]
        ),
        "console": (43, 44),
        "input_only": (),
        "strapping": {0: 1, 3: None, 45: 0, 46: 0},
    },
}

_KEYS4 = {"checkin": 32, "yes": 33, "no": 25, "abstain": 26}
_LEDS = {"checkin": 27, "yes": 14, "no": 13, "abstain": 16, "status": 17, "recorded": 2}
_SPI = {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 1000000}
_RC522 = {"driver": "rc522", "cs": 5, "rst": 4}
_BATTERY = {"adc": 36, "divider": 2.0, "empty_mv": 3300, "full_mv": 4150}

PROFILES = {  # type: dict[str, Profile]
    # Four keys and six LEDs: the plain desk keypad.
    "keypad4": {
        "module": "esp32-wroom-32",
        "keys": _KEYS4,
        "key_active_low": True,
        "leds": _LEDS,
        "led_active_low": False,
        "display": None,
        "card": None,
        "battery": None,
        "watchdog_ms": 8000,
    },
    # The desk keypad with an RC522 card reader for the member's card.
    "keypad4-card": {
        "module": "esp32-wroom-32",
        "keys": _KEYS4,
        "key_active_low": True,
        "leds": _LEDS,
        "led_active_low": False,
        "display": None,
        "spi": _SPI,
        "card": _RC522,
        "battery": None,
        "watchdog_ms": 8000,
    },
    # 128x64 SSD1306 OLED, navigation keys (item lists, ratings), RC522, battery, on a
    # WROVER (PSRAM for the heap): GPIO 16/17 belong to the PSRAM, so the abstain and
    # status LEDs sit on strapping pins 12 and 15, wired to GND (low at reset, as both need).
    "oled-nav-card": {
        "module": "esp32-wrover",
        "keys": {"checkin": 32, "yes": 33, "no": 25, "abstain": 26, "up": 34, "down": 35, "confirm": 39},
        "key_active_low": True,
        "leds": {"checkin": 27, "yes": 14, "no": 13, "abstain": 12, "status": 15, "recorded": 2},
        "led_active_low": False,
        "i2c": {"id": 0, "scl": 22, "sda": 21, "freq": 400000},
        "display": {
            "driver": "ssd1306",
            "width": 128,
            "height": 64,
            "addr": 0x3C,
            "flip": False,
            "external_vcc": False,
        },
        "spi": _SPI,
        "card": _RC522,
        "battery": _BATTERY,
        "watchdog_ms": 8000,
    },
    # The same keypad on an ESP32-S3 module with octal PSRAM (e.g. ESP32-S3-WROOM-1 N16R8).
    "oled-nav-card-s3": {
        "module": "esp32-s3-psram",
        "keys": {"checkin": 4, "yes": 5, "no": 6, "abstain": 7, "up": 15, "down": 16, "confirm": 17},
        "key_active_low": True,
        "leds": {"checkin": 8, "yes": 9, "no": 11, "abstain": 12, "status": 13, "recorded": 14},
        "led_active_low": False,
        "i2c": {"id": 0, "scl": 2, "sda": 1, "freq": 400000},
        "display": {
            "driver": "ssd1306",
            "width": 128,
            "height": 64,
            "addr": 0x3C,
            "flip": False,
            "external_vcc": False,
        },
        "spi": {"id": 2, "sck": 39, "mosi": 40, "miso": 41, "baudrate": 1000000},
        "card": {"driver": "rc522", "cs": 42, "rst": 21},
        "battery": {"adc": 10, "divider": 2.0, "empty_mv": 3300, "full_mv": 4150},
        "watchdog_ms": 8000,
    },
}

_KEY_NAMES = ("checkin", "yes", "no", "abstain", "up", "down", "confirm")
_LED_NAMES = ("checkin", "yes", "no", "abstain", "status", "recorded")


def names() -> "list[str]":
    return sorted(PROFILES)


def select(config: "dict[str, Any] | None" = None, default: "str | None" = None) -> "Profile":
    """The profile the config names (``"profile"``), with its ``"hardware"`` overrides merged.

    ``default`` is used when the config names none (the build's ``--profile``),
    then :data:`DEFAULT`.  Raises ValueError for an unknown name or an invalid result.
    """
    config = config or {}
    name = config.get("profile") or default or DEFAULT
    if name not in PROFILES:
        raise ValueError("unknown hardware profile %r (known: %s)" % (name, ", ".join(names())))
    profile = {}  # type: Profile
    for key, value in PROFILES[name].items():
        profile[key] = dict(value) if isinstance(value, dict) else value
    for key, value in (config.get("hardware") or {}).items():
        if isinstance(value, dict) and isinstance(profile.get(key), dict):
            profile[key].update(value)
        else:
            profile[key] = value
    profile["name"] = name
    problems = validate(profile)
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
    module = MODULES.get(profile.get("module") or "")
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
    module = MODULES.get(profile.get("module") or "")
    if module is None:
        problems.append("module %r is not one of %s" % (profile.get("module"), ", ".join(sorted(MODULES))))
        module = MODULES["esp32-wroom-32"]
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
    """Charge 0..100 from the battery voltage in mV, linear between the profile's empty and full."""
    empty = battery.get("empty_mv", 3300)
    full = battery.get("full_mv", 4150)
    if full <= empty:
        return 255
    pct = (mv - empty) * 100 // (full - empty)
    return int(max(0, min(100, pct)))
