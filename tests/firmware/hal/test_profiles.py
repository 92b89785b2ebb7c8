"""Hardware profiles (firmware/hal/profiles.py): every shipped profile is valid, the config selects
and overrides, and validation catches the wiring mistakes that brick a keypad."""

from __future__ import annotations

import pytest

from firmware.hal import port, profiles


@pytest.mark.parametrize("name", profiles.names())
def test_shipped_profiles_are_valid(name: str) -> None:
    profile = profiles.PROFILES[name]
    assert profiles.validate(profile) == []
    assert set(port.KEYS_BASIC) <= set(profile["keys"])
    pins = [pin for _use, pin in profiles.pins_of(profile)]
    assert len(pins) == len(set(pins))


def test_navigation_profile_has_display_card_and_nav_keys() -> None:
    p = profiles.PROFILES["oled-nav-card"]
    assert set(port.KEYS_NAV) <= set(p["keys"])
    assert p["display"]["driver"] == "ssd1306" and p["card"]["driver"] == "rc522"
    assert profiles.PROFILES["keypad4"]["display"] is None and profiles.PROFILES["keypad4"]["card"] is None


def test_select_default_config_and_build_default() -> None:
    assert profiles.select()["name"] == profiles.DEFAULT
    assert profiles.select({}, "keypad4-card")["name"] == "keypad4-card"
    assert profiles.select({"profile": "oled-nav-card"}, "keypad4-card")["name"] == "oled-nav-card"
    with pytest.raises(ValueError, match=r"unknown hardware profile 'nope'.*keypad4"):
        profiles.select({"profile": "nope"})


def test_overrides_merge_one_level_and_leave_the_table_alone() -> None:
    p = profiles.select({"profile": "keypad4", "hardware": {"keys": {"checkin": 4}, "watchdog_ms": 4000}})
    assert p["keys"] == {"checkin": 4, "yes": 33, "no": 25, "abstain": 26}
    assert p["watchdog_ms"] == 4000
    assert profiles.PROFILES["keypad4"]["keys"]["checkin"] == 32


@pytest.mark.parametrize(
    ("hardware", "problem"),
    [
        ({"keys": {"checkin": 33}}, "GPIO 33 used twice"),
        ({"leds": {"status": 35}}, "input-only"),
        ({"keys": {"yes": 7}}, "not a usable GPIO"),
        ({"keys": {"no": 1}}, "serial console"),
        ({"keys": {"vote": 4}}, "unknown key 'vote'"),
        ({"display": {"driver": "ssd1306"}}, "needs an i2c bus"),
        (
            {"card": {"driver": "pn532", "cs": 5, "rst": 4}, "spi": {"sck": 18, "mosi": 23, "miso": 19}},
            "not supported",
        ),
    ],
)
def test_wiring_mistakes_are_refused(hardware: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        profiles.select({"profile": "keypad4", "hardware": hardware})


def test_missing_key_is_named() -> None:
    p = dict(profiles.PROFILES["keypad4"])
    p["keys"] = {"checkin": 32, "yes": 33, "no": 25}
    assert profiles.validate(p) == ["key abstain has no pin"]


def test_battery_percent() -> None:
    b = {"empty_mv": 3300, "full_mv": 4150}
    assert profiles.battery_percent(3000, b) == 0
    assert profiles.battery_percent(3725, b) == 50
    assert profiles.battery_percent(4300, b) == 100
    assert profiles.battery_percent(3800, {"empty_mv": 4000, "full_mv": 4000}) == 255


# --------------------------------------------------------------- modules and strapping pins


@pytest.mark.parametrize("name", profiles.names())
def test_every_shipped_profile_names_its_module(name: str) -> None:
    profile = profiles.PROFILES[name]
    module = profiles.MODULES[profile["module"]]
    used = {pin for _use, pin in profiles.pins_of(profile)}
    assert not used & set(module["reserved"]), "a pin the module's flash or PSRAM takes"


def test_the_three_modules_sold_are_covered() -> None:
    assert {p["module"] for p in profiles.PROFILES.values()} == {"esp32-wroom-32", "esp32-wrover", "esp32-s3-psram"}


@pytest.mark.parametrize(
    ("hardware", "problem"),
    [
        ({"module": "esp32-wrover"}, r"led abstain: GPIO 16 is not a usable GPIO on esp32-wrover \(PSRAM\)"),
        ({"module": "esp32-wrover"}, r"led status: GPIO 17 is not a usable GPIO on esp32-wrover \(PSRAM\)"),
        ({"keys": {"checkin": 0}}, "key checkin: GPIO 0 is a strapping pin"),
        ({"keys": {"yes": 2}, "leds": {"recorded": 4}}, "key yes: GPIO 2 is a strapping pin"),
        ({"keys": {"no": 12}}, "key no: GPIO 12 is a strapping pin"),
        ({"keys": {"abstain": 15}}, "key abstain: GPIO 15 is a strapping pin"),
        ({"leds": {"status": 12}, "led_active_low": True}, "GPIO 12 is a strapping pin that must be low at reset"),
        ({"leds": {"status": 0}}, "GPIO 0 is a strapping pin that must be high at reset"),
        ({"module": "esp32-wroom-32s"}, "module 'esp32-wroom-32s' is not one of"),
    ],
)
def test_module_reserved_and_strapping_pins_are_refused(hardware: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        profiles.select({"profile": "keypad4", "hardware": hardware})


def test_leds_on_strapping_pins_that_keep_the_boot_level_are_allowed() -> None:
    p = profiles.select({"profile": "keypad4", "hardware": {"leds": {"status": 12, "abstain": 15}}})
    assert p["leds"]["status"] == 12  # an LED to GND holds GPIO 12 low, as a 3.3 V flash needs
    p = profiles.select(
        {"profile": "keypad4", "hardware": {"leds": {"status": 0, "recorded": 4}, "led_active_low": True}}
    )
    assert p["leds"]["status"] == 0  # an LED to 3V3 holds GPIO 0 high: normal boot


def test_s3_pins_follow_the_s3() -> None:
    with pytest.raises(ValueError, match=r"GPIO 35 is not a usable GPIO on esp32-s3-psram \(PSRAM\)"):
        profiles.select({"profile": "oled-nav-card-s3", "hardware": {"keys": {"up": 35}}})
    with pytest.raises(ValueError, match="GPIO 46 is a strapping pin"):
        profiles.select({"profile": "oled-nav-card-s3", "hardware": {"keys": {"down": 46}}})
    assert profiles.input_only(profiles.PROFILES["oled-nav-card-s3"]) == ()
    assert profiles.input_only(profiles.PROFILES["oled-nav-card"]) == profiles.INPUT_ONLY
