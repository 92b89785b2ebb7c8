"""firmware.counter: reserved in NVS before use, so a crash anywhere leaves a gap and never a reuse.

A "crash" is a SimCrash raised by the simulated NVS before or after a
chosen write lands, or simply a reboot (a new Counter on the same NVS)
after any number of values were handed out.  Every schedule is tried.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from firmware.counter import COUNTER_MAX, Counter, CounterExhausted
from firmware.hal.sim import SimCrash, SimNvs


def test_counts_from_one_and_writes_once_per_block() -> None:
    nvs = SimNvs()
    c = Counter(nvs, block=4)
    assert [c.take() for _ in range(9)] == list(range(1, 10))
    assert nvs.writes == c.writes == 3
    assert int.from_bytes(nvs.get("ctr") or b"", "big") == 12


def test_value_is_on_flash_before_it_is_returned() -> None:
    nvs = SimNvs()
    c = Counter(nvs, block=5)
    for _ in range(23):
        v = c.take()
        assert int.from_bytes(nvs.data["ctr"], "big") >= v


@pytest.mark.parametrize("block", [1, 3, 64])
def test_reboot_after_any_number_of_takes(block: int) -> None:
    for taken in range(0, 3 * block + 2):
        nvs = SimNvs()
        c = Counter(nvs, block)
        first = [c.take() for _ in range(taken)]
        again = Counter(nvs, block)  # power cycle: RAM lost, NVS kept
        nxt = again.take()
        assert all(nxt > v for v in first)
        assert nxt - (first[-1] if first else 0) <= block  # the gap is at most one block


@pytest.mark.parametrize(("block", "after"), list(itertools.product([1, 2, 5], [False, True])))
def test_crash_at_every_nvs_write_over_several_boots(block: int, after: bool) -> None:
    """Crash on the k-th NVS write (before it lands / after it is durable), reboot, continue;
    repeat with the crash at each write of a 3-boot run: all values ever returned are distinct
    and increasing."""
    for k in range(1, 4 * (10 // block + 2)):
        nvs = SimNvs()
        handed: list[int] = []
        crashes = 0
        for _boot in range(3):
            c = Counter(nvs, block)
            nvs.crash_on = (k, after) if crashes == 0 else None
            try:
                for _ in range(10):
                    handed.append(c.take())
            except SimCrash:
                crashes += 1
        assert handed == sorted(set(handed)), (block, after, k, handed)


def test_crash_before_the_write_hands_nothing_out() -> None:
    nvs = SimNvs()
    c = Counter(nvs, block=2)
    assert [c.take(), c.take()] == [1, 2]
    nvs.crash_on = (1, False)
    with pytest.raises(SimCrash):
        c.take()  # needs a new block: the write never landed, so 3 is not handed out
    assert Counter(nvs, block=2).take() == 3  # no gap needed: 3 was never used


def test_survives_a_reboot_through_a_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nvs.json")
    c = Counter(SimNvs(path), block=8)
    used = [c.take() for _ in range(3)]
    assert Counter(SimNvs(path), block=8).take() > max(used)


def test_refuses_a_damaged_reservation_and_exhaustion() -> None:
    nvs = SimNvs()
    nvs.data["ctr"] = b"\x01\x02"
    with pytest.raises(ValueError):
        Counter(nvs)
    nvs.data["ctr"] = (COUNTER_MAX - 1).to_bytes(4, "big")
    c = Counter(nvs, block=64)
    assert c.take() == COUNTER_MAX
    with pytest.raises(CounterExhausted):
        c.take()
    with pytest.raises(ValueError):
        Counter(SimNvs(), block=0)
