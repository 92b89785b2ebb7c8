"""The sign-in throttle's bookkeeping (pure, with a fake clock)."""

from __future__ import annotations

import pytest

from gateway.console.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_paused_after_the_limit_until_its_oldest_refusal_leaves_the_window() -> None:
    clock = Clock()
    t = SignInThrottle(limit=3, window_s=60, clock=clock)
    starts = []
    for _ in range(3):
        assert t.retry_after("a") == 0
        starts.append(t.refused("a"))
        clock.now += 10
    assert starts == [False, False, True]  # the third refusal starts the pause, once
    assert t.retry_after("a") == pytest.approx(30)  # first refusal at 1000, now 1030: 30 s left
    assert t.retry_after("b") == 0  # another address is not affected
    clock.now = 1060.0  # the first refusal leaves the window
    assert t.retry_after("a") == 0
    assert t.refused("a") is True  # two still counted + this one: a new pause starts
    assert t.retry_after("a") == pytest.approx(10)  # counted refusals at 1010, 1020, 1060: until 1070


def test_a_success_clears_the_count_and_old_refusals_expire() -> None:
    clock = Clock()
    t = SignInThrottle(limit=2, window_s=60, clock=clock)
    t.refused("a")
    t.succeeded("a")
    assert t.refused("a") is False  # counting starts again
    clock.now += 61
    assert t.refused("a") is False  # the earlier refusal expired
    assert len(t) == 1


def test_the_table_is_bounded_forgetting_the_longest_idle_first() -> None:
    clock = Clock()
    t = SignInThrottle(limit=2, window_s=600, max_clients=3, clock=clock)
    for name in ("a", "b", "c"):
        t.refused(name)
        clock.now += 1
    t.refused("a")  # a is paused and now the most recent
    t.refused("d")  # b, refused longest ago, is forgotten
    assert len(t) == 3
    assert t.retry_after("a") > 0
    assert t.refused("b") is False  # b starts from nothing


@pytest.mark.parametrize("args", [{"limit": 0}, {"window_s": 0}, {"max_clients": 0}])
def test_nonsense_settings_are_refused(args: dict) -> None:
    with pytest.raises(ValueError):
        SignInThrottle(**args)
