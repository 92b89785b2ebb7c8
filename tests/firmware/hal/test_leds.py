"""Blinking LEDs (firmware/hal/leds.py): steady modes at once, blinking in phase from the clock,
and pins written only when their level changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware.hal import port
from firmware.hal.leds import BlinkingLeds

NAMES = port.KEYS_BASIC + port.LED_EXTRA


class FakeLed:
    """An LED's pin: ``value(level)`` records each level written (``write``)."""

    def __init__(self, write: Callable[[bool], object]) -> None:
        self.value = write


def mode(leds: BlinkingLeds, name: str) -> str:
    """The mode last set for ``name`` (off for an LED the board lacks)."""
    return leds._modes[leds.names.index(name)] if name in leds.names else port.OFF


def level(leds: BlinkingLeds, name: str) -> bool:
    """What the LED shows now (True = lit)."""
    return name in leds.names and bool(leds._levels[leds.names.index(name)])


def make(period_ms: int = 500) -> tuple[BlinkingLeds, dict[str, list[bool]]]:
    writes: dict[str, list[bool]] = {n: [] for n in NAMES}
    leds = BlinkingLeds({n: FakeLed(writes[n].append) for n in NAMES}, period_ms)
    return leds, writes


def test_all_off_at_start_then_steady_modes_apply_at_once() -> None:
    leds, writes = make()
    assert all(w == [False] for w in writes.values())
    leds.set("yes", port.ON)
    assert writes["yes"] == [False, True]
    assert level(leds, "yes") and mode(leds, "yes") == port.ON
    leds.set("yes", port.ON)  # same mode: no write
    leds.set("yes", port.OFF)
    assert writes["yes"] == [False, True, False]


def test_blinking_leds_share_one_phase_from_the_clock() -> None:
    leds, writes = make(500)
    leds.tick(0)
    leds.set("status", port.BLINK)
    leds.tick(100)
    leds.set("recorded", port.BLINK)  # joins in phase
    levels = []
    for t in range(100, 1100, 50):
        leds.tick(t)
        levels.append((t, level(leds, "status"), level(leds, "recorded")))
    assert all(s == r for _, s, r in levels)
    assert [s for t, s, _ in levels if t % 250 == 0] == [False, True, False, True]  # t = 250, 500, 750, 1000
    assert [t for t, s, _ in levels if s] == [100, 150, 200, 500, 550, 600, 650, 700, 1000, 1050]
    # one write per level change only
    assert writes["status"] == [False, True, False, True, False, True]


def test_steady_led_is_not_touched_by_tick() -> None:
    leds, writes = make()
    leds.set("checkin", port.ON)
    for t in range(0, 3000, 10):
        leds.tick(t)
    assert writes["checkin"] == [False, True]


def test_set_again_to_blink_does_not_restart_it_and_unknown_names_are_ignored() -> None:
    leds, writes = make()
    leds.set("no", port.BLINK)
    leds.tick(300)
    before = list(writes["no"])
    leds.set("no", port.BLINK)
    assert writes["no"] == before
    leds.set("display-backlight", port.ON)  # a board may lack an LED
    assert mode(leds, "display-backlight") == port.OFF
    with pytest.raises(ValueError):
        leds.set("no", "dim")


def test_active_low_leds_are_written_inverted() -> None:
    writes: list[bool] = []
    leds = BlinkingLeds({"yes": FakeLed(writes.append)}, active_low=True)
    leds.set("yes", port.ON)
    leds.set("yes", port.OFF)
    assert writes == [True, False, True]  # dark at start (high), lit (low), dark
    assert not level(leds, "yes")
