"""The pin tables of :mod:`firmware.hal.profiles`: the modules and the profiles.  Plain data.

Loaded only while :mod:`firmware.hal.profiles` reads it: on MicroPython
``profiles.select`` copies the profile it needs and lets the keypad's heap
drop this table again (see that module).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Profile = dict[str, Any]

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
