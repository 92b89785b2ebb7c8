"""The runner's settle rule: done keypads end the wait; a quiet keypad not done ends it after QUIET_S.

Quiet means its phase still open on it, no frame awaiting an answer and no
press unread; such a keypad will not show 已记录 by itself, so its deputy
presses again at once instead of after the timeout.  The whole runner runs
through the real parts in tests/hil/rig/test_sim.py and tests/hil/test_evidence.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from firmware.app import states as S
from hil.scenario import load, plan, runner
from hil.scenario.runner import QUIET_S, Runner
from hil.scenario.spec import resized


@dataclass
class FakeOutbox:
    entries: list[Any] = field(default_factory=list)


@dataclass
class FakeMotion:
    motion_id: int


@dataclass
class FakeApp:
    state: str
    motion: FakeMotion | None = None
    outbox: FakeOutbox = field(default_factory=FakeOutbox)


@dataclass
class FakeKeypad:
    app: FakeApp | None
    unread: bool = False

    def keys_pending(self) -> bool:
        return self.unread

    # what the runner reads: the rig's keypad view (hil.rig.mirror.KeypadView)
    @property
    def state(self) -> str:
        return self.app.state if self.app is not None else "off"

    @property
    def outbox_size(self) -> int:
        return len(self.app.outbox.entries) if self.app is not None else 0

    @property
    def motion_id(self) -> int | None:
        return self.app.motion.motion_id if self.app is not None and self.app.motion is not None else None


class FakeRig:
    def __init__(self, keypads: dict[str, FakeKeypad]) -> None:
        self.keypads = keypads
        self.waits: list[tuple[Callable[[], bool], str, float]] = []

    def wait(self, pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        self.waits.append((pred, what, timeout))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(runner.time, "monotonic", c.monotonic)
    return c


def _settled(keypads: dict[str, FakeKeypad], motion: int = 7) -> Callable[[], bool]:
    """The predicate the runner waits on for a motion phase over these keypads."""
    rig = FakeRig(keypads)
    r = Runner(rig, plan(resized(load("demo"), 3)), speed=0.0, show_progress=False)  # type: ignore[arg-type]
    r._settle(list(keypads), "presses settled", lambda kp: kp.state == S.RECORDED,
              lambda kp: kp.motion_id == motion)  # fmt: skip
    [(pred, what, timeout)] = rig.waits
    assert what == "presses settled" and timeout >= 30
    return pred


def test_every_keypad_done_settles_at_once(clock: Clock) -> None:
    pred = _settled(
        {"a": FakeKeypad(FakeApp(S.RECORDED, FakeMotion(7))), "b": FakeKeypad(FakeApp(S.RECORDED))}
    )
    assert pred()


def test_a_quiet_keypad_not_done_settles_after_quiet_s(clock: Clock) -> None:
    lost = FakeKeypad(FakeApp(S.MOTION_OPEN, FakeMotion(7)))  # its press went with its RAM
    pred = _settled({"a": FakeKeypad(FakeApp(S.RECORDED, FakeMotion(7))), "b": lost})
    assert not pred()
    clock.now += QUIET_S / 2
    assert not pred()
    clock.now += QUIET_S / 2
    assert pred()


def test_any_activity_restarts_the_quiet_time(clock: Clock) -> None:
    kp = FakeKeypad(FakeApp(S.MOTION_OPEN, FakeMotion(7)))
    pred = _settled({"a": kp})
    assert not pred()
    clock.now += QUIET_S * 0.9
    kp.app.outbox.entries.append("a frame awaiting its ack")  # type: ignore[union-attr]
    assert not pred()
    kp.app.outbox.entries.clear()  # type: ignore[union-attr]
    clock.now += QUIET_S / 4
    assert not pred()  # quiet again from here: the time before the frame does not count
    clock.now += QUIET_S / 2
    assert not pred()
    clock.now += QUIET_S / 2
    assert pred()


@pytest.mark.parametrize(
    "kp",
    [
        FakeKeypad(FakeApp(S.MOTION_OPEN, FakeMotion(7), FakeOutbox(["unanswered"]))),
        FakeKeypad(FakeApp(S.MOTION_OPEN, FakeMotion(7)), unread=True),
        FakeKeypad(FakeApp(S.SENT, FakeMotion(7))),
        FakeKeypad(FakeApp(S.OFFLINE, FakeMotion(7))),
        FakeKeypad(FakeApp(S.CHECKED_IN, None)),  # rebooted, the round's broadcast not heard yet
        FakeKeypad(FakeApp(S.MOTION_OPEN, FakeMotion(6))),  # still on another motion
        FakeKeypad(None),  # powered off
    ],
    ids=["unanswered", "unread-press", "sent", "offline", "no-round", "other-motion", "off"],
)
def test_a_busy_or_unready_keypad_never_settles(clock: Clock, kp: FakeKeypad) -> None:
    pred = _settled({"a": FakeKeypad(FakeApp(S.RECORDED, FakeMotion(7))), "b": kp})
    for _ in range(5):
        assert not pred()
        clock.now += QUIET_S
