"""Walk every reachable (sitting state, round state) pair with every frame and every command.

The expected outcome of each pair is restated here from the rules (DOMAIN.md
and the state machine rules), independently of how the core computes it.
"""

from __future__ import annotations

import itertools

import pytest
from hvtest.halls import SITTING_NONCE, Hall

from gateway.core import commands
from gateway.core.errors import CommandError
from gateway.core.state import Attendance
from gateway.core.states import RoundState, SittingState
from protocol import consts, reasons

S, R = SittingState, RoundState
ROUND_STATES: list[R | None] = [None, *RoundState]


def reachable(s: S, r: R | None) -> bool:
    if r is None:
        return True
    if s in (S.SETUP, S.CHECKIN_OPEN):
        return r is R.READY
    if s is S.CLOSED:
        return r in (R.READY, R.CLOSED, R.ANNOUNCED, R.MANUAL)
    return True


PAIRS = [(s, r) for s, r in itertools.product(SittingState, ROUND_STATES) if reachable(s, r)]


def build(s: S, r: R | None) -> Hall:
    """A hall of 5 with member 1 checked in, in sitting state s, motion 7 round 1 in state r."""
    hall = Hall(members=5)
    sitting = hall.sitting
    for m in range(1, 6):
        if m != 2:  # member 2 stays absent, for the check-in frame
            sitting.attendance[m] = Attendance(m, f"A-{m}", f"kp-{m}", 1, 0.0, False)
    if r is not None:
        hall.add_motion(7)
        run = sitting.rounds[(7, 1)]
        run.state = r
        if r in (R.OPEN, R.PAUSED):
            sitting.current = (7, 1)
    sitting.state = s
    return hall


def expected_frame(kind: str, s: S, r: R | None) -> int:
    if kind == "status":
        return reasons.ACCEPTED
    if s in (S.SETUP, S.CLOSED):
        return reasons.NO_SITTING
    if kind == "check-in":
        return reasons.ACCEPTED
    return {
        None: reasons.MOTION_NOT_OPEN,
        R.READY: reasons.MOTION_NOT_OPEN,
        R.OPEN: reasons.ACCEPTED,
        R.PAUSED: reasons.ROUND_PAUSED,
        R.CLOSED: reasons.ROUND_CLOSED,
        R.ANNOUNCED: reasons.ROUND_CLOSED,
        R.MANUAL: reasons.ROUND_CLOSED,  # counted by hand: keypad presses no longer count
    }[r]


@pytest.mark.parametrize(("s", "r"), PAIRS)
@pytest.mark.parametrize("kind", ["status", "check-in", "vote"])
def test_every_frame_in_every_state(kind: str, s: S, r: R | None) -> None:
    hall = build(s, r)
    if kind == "status":
        d = hall.feed("kp-1", hall.kp(1).status(), channel="status")
    elif kind == "check-in":
        d = hall.feed("kp-2", hall.kp(2).check_in(42, SITTING_NONCE))
    else:
        nonce = hall.sitting.rounds[(7, 1)].nonce if r is not None else b"\x00" * 8
        d = hall.feed("kp-1", hall.kp(1).vote(7, 1, nonce, (consts.YES,)))
    assert d.reason == expected_frame(kind, s, r)
    assert d.accepted == (d.reason < 0x10)
    assert bool(d.events) == d.accepted


COMMANDS = [
    "open_checkin",
    "start_session",
    "close_sitting",
    "open",
    "pause",
    "resume",
    "close",
    "announce",
    "rerun",
]


def expected_command(cmd: str, s: S, r: R | None) -> bool:
    live = r in (R.OPEN, R.PAUSED)
    return {
        "open_checkin": s is S.SETUP,
        "start_session": s is S.CHECKIN_OPEN,
        "close_sitting": s is not S.CLOSED and not live and r is not R.MANUAL,
        "open": s is S.IN_SESSION and r is R.READY,
        "pause": r is R.OPEN,
        "resume": r is R.PAUSED,
        "close": live,
        "announce": r is R.CLOSED,
        "rerun": r in (R.CLOSED, R.ANNOUNCED),
    }[cmd]


@pytest.mark.parametrize(("s", "r"), PAIRS)
@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_in_every_state(cmd: str, s: S, r: R | None) -> None:
    hall = build(s, r)
    key = (7, 1)
    st, at = hall.state, hall.now()
    calls = {
        "open_checkin": lambda: commands.open_checkin(st, at=at),
        "start_session": lambda: commands.start_session(st, at=at),
        "close_sitting": lambda: commands.close_sitting(st, at=at),
        "open": lambda: commands.open_round(st, key, at=at)[0],
        "pause": lambda: commands.pause_round(st, key, at=at),
        "resume": lambda: commands.resume_round(st, key, at=at),
        "close": lambda: commands.close_round(st, key, at=at),
        "announce": lambda: commands.announce_round(st, key, at=at),
        "rerun": lambda: commands.rerun(st, 7, nonce=b"\x09" * 8, at=at),
    }
    if expected_command(cmd, s, r):
        events = calls[cmd]()
        assert events
        hall.run(events)
    else:
        with pytest.raises(CommandError):
            calls[cmd]()
