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

Pin choices avoid the flash pins (6-11), the UART0 console (1, 3) and,
for keys, the strapping pins (0, 2, 5, 12, 15); GPIO 2 drives an LED only
(an LED to GND keeps it low at reset, as download mode needs).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Profile = dict[str, Any]

__all__ = [
    "DEFAULT",
    "FLASH_PINS",
    "INPUT_ONLY",
    "PROFILES",
    "battery_percent",
    "names",
    "pins_of",
    "select",
    "validate",
]

DEFAULT = "keypad4"

FLASH_PINS = (6, 7, 8, 9, 10, 11)
INPUT_ONLY = (34, 35, 36, 37, 38, 39)  # no output driver, no internal pull resistors
UART0 = (1, 3)
_VALID_PINS = tuple(p for p in range(40) if p not in (20, 24, 28, 29, 30, 31) + FLASH_PINS)

_KEYS4 = {"checkin": 32, "yes": 33, "no": 25, "abstain": 26}
_LEDS = {"checkin": 27, "yes": 14, "no": 13, "abstain": 16, "status": 17, "recorded": 2}
_SPI = {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 1000000}
_RC522 = {"driver": "rc522", "cs": 5, "rst": 4}
_BATTERY = {"adc": 36, "divider": 2.0, "empty_mv": 3300, "full_mv": 4150}

PROFILES = {  # type: dict[str, Profile]
    # Four keys and six LEDs: the plain desk keypad.
    "keypad4": {
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
    # 128x64 SSD1306 OLED, navigation keys (item lists, ratings), RC522, battery.
    "oled-nav-card": {
        "keys": {"checkin": 32, "yes": 33, "no": 25, "abstain": 26, "up": 34, "down": 35, "confirm": 39},
        "key_active_low": True,
        "leds": _LEDS,
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


def validate(profile: "Profile") -> "list[str]":
    """Problems with a profile (an empty list when it is usable)."""
    problems = []
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
    for use, pin in pins_of(profile):
        if not isinstance(pin, int) or pin not in _VALID_PINS:
            problems.append("%s: %r is not a usable GPIO" % (use, pin))
            continue
        if pin in UART0:
            problems.append("%s: GPIO %d is the serial console" % (use, pin))
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
        if output and pin in INPUT_ONLY:
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
