"""Key debouncing (firmware/hal/debounce.py) under CPython: bounce patterns, glitches, long presses,
stuck keys, wrapping ticks, and the port.Keys face the app sees."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware.hal import debounce, port
from firmware.hal.debounce import DEFAULT_SETTLE_MS, DebouncedKeys, plain_diff

S = DEFAULT_SETTLE_MS


class FakePin:
    """A key's pin: ``value()`` reads the raw level (``read``; True = closed: active high)."""

    def __init__(self, read: Callable[[], object] = lambda: False) -> None:
        self.value = read


def is_pressed(keys: DebouncedKeys, name: str) -> bool:
    """The debounced state of one key (False for a key the board lacks), from its state list."""
    return name in keys.names and bool(keys._state[keys.names.index(name)][debounce._PRESSED])


def held_ms(keys: DebouncedKeys, name: str, now_ms: int) -> int:
    """How long key ``name`` has been held down (0 when up or unknown), from its state list."""
    if not is_pressed(keys, name):
        return 0
    return int(keys._diff(now_ms, keys._state[keys.names.index(name)][debounce._PRESSED_AT]))


class Debouncer:
    """One key's debounce state machine, as DebouncedKeys runs it for each key (key 0 here)."""

    def __init__(self, settle_ms: int = S, ticks_diff: Callable[[int, int], int] = plain_diff) -> None:
        self.keys = DebouncedKeys({"checkin": FakePin()}, settle_ms, ticks_diff)

    def update(self, raw: bool, now_ms: int) -> bool | None:
        return self.keys.update(0, raw, now_ms)

    @property
    def pressed(self) -> bool:
        return is_pressed(self.keys, "checkin")

    def held_ms(self, now_ms: int) -> int:
        return held_ms(self.keys, "checkin", now_ms)


def feed(deb: Debouncer, samples: list[tuple[int, int]]) -> list[tuple[int, bool]]:
    """Feed (time, raw) samples; return the (time, edge) pairs produced."""
    out = []
    for t, raw in samples:
        edge = deb.update(bool(raw), t)
        if edge is not None:
            out.append((t, edge))
    return out


def every_ms(pattern: str, start: int = 0) -> list[tuple[int, int]]:
    """One sample per millisecond from a string of 0/1."""
    return [(start + i, int(c)) for i, c in enumerate(pattern)]


def test_clean_press_and_release_after_settle_time() -> None:
    deb = Debouncer()
    edges = feed(deb, every_ms("0" * 5 + "1" * 60 + "0" * 60))
    assert edges == [(5 + S, True), (65 + S, False)]


def test_bounce_burst_gives_one_press_settle_ms_after_the_last_bounce() -> None:
    deb = Debouncer()
    closing = "0" * 5 + "1010110110" + "1" * 60  # the contact stays closed from t=15
    opening = "0101001" + "0" * 60  # ... and open from t=len(closing)+7
    edges = feed(deb, every_ms(closing + opening))
    assert edges == [(15 + S, True), (len(closing) + 7 + S, False)]


def test_glitch_shorter_than_settle_is_ignored() -> None:
    deb = Debouncer()
    assert feed(deb, every_ms("0" * 5 + "1" * (S - 1) + "0" * 100)) == []
    assert not deb.pressed


def test_sparse_polling_still_needs_stability() -> None:
    # Samples 15 ms apart (a busy loop): two agreeing samples 30 ms apart suffice.
    deb = Debouncer()
    edges = feed(deb, [(0, 0), (15, 1), (30, 1), (45, 1), (60, 0), (75, 1), (90, 0), (105, 0), (120, 0)])
    assert edges == [(45, True), (120, False)]


def test_long_press_reports_once_and_measures_the_hold() -> None:
    deb = Debouncer()
    samples = every_ms("0" * 10 + "1" * 5000 + "0" * 50)
    edges = feed(deb, samples[: 10 + 3000])
    assert edges == [(10 + S, True)]
    assert deb.held_ms(10 + 3000) == 3000 - S
    edges = feed(deb, samples[10 + 3000 :])
    assert edges == [(5010 + S, False)]  # no repeat while held, one release
    assert deb.held_ms(6000) == 0


def test_key_held_at_power_up_never_presses_until_released() -> None:
    deb = Debouncer()
    assert feed(deb, every_ms("1" * 500)) == []
    # released (with bounce), then pressed again: now it counts
    edges = feed(deb, every_ms("0010" + "0" * 40 + "1" * 40, start=500))
    assert edges == [(500 + 44 + S, True)]


def test_stuck_key_that_bounces_open_briefly_stays_disarmed() -> None:
    deb = Debouncer()
    assert feed(deb, every_ms("1" * 100 + "0" * (S - 5) + "1" * 100)) == []


def test_ticks_that_wrap_are_compared_with_the_given_diff() -> None:
    period = 1 << 30  # MicroPython's ticks_ms period

    def ticks_diff(a: int, b: int) -> int:
        return ((a - b + period // 2) % period) - period // 2

    deb = Debouncer(ticks_diff=ticks_diff)
    start = period - 10
    samples = [((start + i) % period, 1 if i >= 2 else 0) for i in range(60)]
    edges = feed(deb, samples)
    assert edges == [((start + 2 + S) % period, True)]
    assert deb.held_ms((start + 2 + S + 100) % period) == 100


def test_zero_settle_passes_every_change_through() -> None:
    deb = Debouncer(settle_ms=0)
    assert feed(deb, every_ms("0101")) == [(1, True), (2, False), (3, True)]
    with pytest.raises(ValueError):
        Debouncer(settle_ms=-1)


class Levels:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.level = dict.fromkeys(names, False)

    def reader(self, name: str) -> FakePin:
        return FakePin(lambda: self.level[name])


def test_keys_poll_reports_edges_in_port_order() -> None:
    lv = Levels(port.KEYS_BASIC + port.KEYS_NAV)
    # pins given in a scrambled order; edges come out in the port's order
    keys = DebouncedKeys(
        {n: lv.reader(n) for n in ("confirm", "no", "checkin", "yes", "abstain", "up", "down")}
    )
    assert keys.names == port.KEYS_BASIC + port.KEYS_NAV
    assert isinstance(keys, port.Keys)
    assert keys.poll(0) == []
    lv.level["no"] = lv.level["checkin"] = True
    assert keys.poll(1) == []
    assert keys.poll(1 + S) == [("checkin", True), ("no", True)]
    assert is_pressed(keys, "no") and not is_pressed(keys, "yes") and not is_pressed(keys, "missing")
    assert held_ms(keys, "no", 500 + S) == 499
    lv.level["no"] = False
    keys.poll(600)
    assert keys.poll(600 + S) == [("no", False)]
    assert keys.poll(2000) == []


def test_keys_refuse_unknown_names() -> None:
    with pytest.raises(ValueError, match="vote"):
        DebouncedKeys({"vote": FakePin()})


def test_four_key_board_has_only_basic_keys() -> None:
    keys = DebouncedKeys({n: FakePin() for n in port.KEYS_BASIC})
    assert keys.names == port.KEYS_BASIC
    assert held_ms(keys, "confirm", 100) == 0


# --------------------------------------------------------------- edges latched by pin interrupts


def latched_keys(level: dict[str, bool]) -> tuple[DebouncedKeys, DebouncedKeys]:
    keys = DebouncedKeys({n: FakePin(lambda n=n: level[n]) for n in level}, latch=8)
    return keys, keys  # the keys are their own edge latch (record)


def test_a_press_between_two_slow_scans_is_not_lost() -> None:
    level = {"checkin": False, "yes": False, "no": False, "abstain": False}
    keys, latch = latched_keys(level)
    assert keys.poll(0) == []
    yes = keys.names.index("yes")
    latch.record(yes, True, 100)  # pressed at 100 ms, released at 180 ms, scanned at 400 ms
    latch.record(yes, False, 180)
    assert keys.poll(400) == [("yes", True), ("yes", False)]
    assert keys.poll(500) == []


def test_without_the_latch_that_press_is_missed() -> None:
    level = {"checkin": False, "yes": False, "no": False, "abstain": False}
    keys = DebouncedKeys({n: FakePin(lambda n=n: level[n]) for n in level})
    assert keys.poll(0) == [] and keys.poll(400) == []  # the press happened in between


def test_ghost_interrupts_and_short_glitches_change_nothing() -> None:
    level = {"checkin": False, "yes": False, "no": False, "abstain": False}
    keys, latch = latched_keys(level)
    keys.poll(0)
    no = keys.names.index("no")
    for t in (50, 51, 90):
        latch.record(no, False, t)  # errata 3.11: an interrupt, the level read unchanged
    latch.record(no, True, 120)  # a 5 ms glitch
    latch.record(no, False, 125)
    assert keys.poll(300) == []


def test_bounces_latched_give_one_press_and_stale_edges_are_ignored() -> None:
    level = {"checkin": False, "yes": False, "no": False, "abstain": False}
    keys, latch = latched_keys(level)
    keys.poll(0)
    ci = keys.names.index("checkin")
    for t, closed in ((100, True), (101, False), (102, True), (104, False), (105, True)):
        latch.record(ci, closed, t)
    level["checkin"] = True
    assert keys.poll(200) == [("checkin", True)]
    latch.record(ci, False, 150)  # older than the scan at 200: ignored
    assert keys.poll(210) == []


def test_a_full_ring_drops_the_newest_and_counts_it() -> None:
    latch = DebouncedKeys({"checkin": FakePin()}, latch=4)
    for t in range(6):
        latch.record(0, t % 2 == 0, t)
    assert latch.overflows == 3 and [e[2] for e in latch.drain()] == [0, 1, 2]
    assert latch.drain() == []


def test_the_pin_interrupt_handler_records_the_level_it_reads() -> None:
    # keys closing to GND (active low): the bound irq() is each pin's handler on the ESP32
    level = {"checkin": 1, "yes": 1}
    pins = {n: FakePin(lambda n=n: level[n]) for n in level}
    now = [100]
    keys = DebouncedKeys(pins, latch=4, active_low=True, ticks_ms=lambda: now[0])
    assert keys.pins == (pins["checkin"], pins["yes"])
    assert keys.poll(0) == []
    level["yes"] = 0  # pressed
    keys.irq(pins["yes"])
    now[0] = 150
    level["yes"] = 1  # released
    keys.irq(pins["yes"])
    keys.irq(pins["checkin"])  # a ghost interrupt: the level read is unchanged
    assert keys.drain() == [(1, True, 100), (1, False, 150), (0, False, 150)]
    for index, closed, ticks in [(1, True, 100), (1, False, 150), (0, False, 150)]:
        keys.record(index, closed, ticks)
    assert keys.poll(300) == [("yes", True), ("yes", False)]
