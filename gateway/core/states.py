"""The sitting and round state machines, kept as data.

Rules:

* A sitting goes setup -> check-in open -> in session -> closed.  It may be
  closed from any state but closed; it never goes back.  Check-in is
  accepted while check-in is open and, as late check-in (补签), in session.
* A round goes ready -> open <-> paused -> closed -> announced.  Votes are
  accepted only while it is open; a paused round refuses them with
  ROUND_PAUSED and keeps what it has.  A round may be closed from open or
  paused.  A re-run never reopens a round: it creates the motion's next
  round (ready), and every round is kept.
* Manual fallback (keypads failed): a round that is ready or closed (not
  announced) may be declared manual by entering counts (show of hands or
  paper): it goes to manual.  In manual a new entry replaces the pending
  one, a rejection keeps it manual without a pending entry, and a
  confirmation by the other person closes it with the manual result, which
  replaces any keypad tally.  A closed round whose result is already manual
  is not entered again (a correction is a re-run).
* Every (state, event) pair not in a table is refused with TransitionError.
"""

from __future__ import annotations

import enum

from protocol import consts

from .errors import TransitionError

__all__ = [
    "ROUND_TRANSITIONS",
    "SITTING_TRANSITIONS",
    "RoundEvent",
    "RoundState",
    "SittingEvent",
    "SittingState",
    "next_round_state",
    "next_sitting_state",
]


class SittingState(enum.IntEnum):
    SETUP = consts.SITTING_SETUP
    CHECKIN_OPEN = consts.SITTING_CHECKIN_OPEN
    IN_SESSION = consts.SITTING_IN_SESSION
    CLOSED = consts.SITTING_CLOSED


class SittingEvent(enum.Enum):
    OPEN_CHECKIN = "open_checkin"
    START_SESSION = "start_session"
    CLOSE = "close"


class RoundState(enum.Enum):
    READY = "ready"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"
    ANNOUNCED = "announced"
    MANUAL = "manual"


class RoundEvent(enum.Enum):
    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"
    ANNOUNCE = "announce"
    ENTER_MANUAL = "enter_manual"
    REJECT_MANUAL = "reject_manual"
    CONFIRM_MANUAL = "confirm_manual"


SITTING_TRANSITIONS: dict[tuple[SittingState, SittingEvent], SittingState] = {
    (SittingState.SETUP, SittingEvent.OPEN_CHECKIN): SittingState.CHECKIN_OPEN,
    (SittingState.SETUP, SittingEvent.CLOSE): SittingState.CLOSED,
    (SittingState.CHECKIN_OPEN, SittingEvent.START_SESSION): SittingState.IN_SESSION,
    (SittingState.CHECKIN_OPEN, SittingEvent.CLOSE): SittingState.CLOSED,
    (SittingState.IN_SESSION, SittingEvent.CLOSE): SittingState.CLOSED,
}

ROUND_TRANSITIONS: dict[tuple[RoundState, RoundEvent], RoundState] = {
    (RoundState.READY, RoundEvent.OPEN): RoundState.OPEN,
    (RoundState.OPEN, RoundEvent.PAUSE): RoundState.PAUSED,
    (RoundState.PAUSED, RoundEvent.RESUME): RoundState.OPEN,
    (RoundState.OPEN, RoundEvent.CLOSE): RoundState.CLOSED,
    (RoundState.PAUSED, RoundEvent.CLOSE): RoundState.CLOSED,
    (RoundState.CLOSED, RoundEvent.ANNOUNCE): RoundState.ANNOUNCED,
    (RoundState.READY, RoundEvent.ENTER_MANUAL): RoundState.MANUAL,
    (RoundState.CLOSED, RoundEvent.ENTER_MANUAL): RoundState.MANUAL,
    (RoundState.MANUAL, RoundEvent.ENTER_MANUAL): RoundState.MANUAL,
    (RoundState.MANUAL, RoundEvent.REJECT_MANUAL): RoundState.MANUAL,
    (RoundState.MANUAL, RoundEvent.CONFIRM_MANUAL): RoundState.CLOSED,
}

# States in which a check-in frame is accepted, and whether it is late (补签).
CHECKIN_STATES = {SittingState.CHECKIN_OPEN: False, SittingState.IN_SESSION: True}
# Round states that hold the hall's single "current" round.
LIVE_ROUND_STATES = (RoundState.OPEN, RoundState.PAUSED)


def next_sitting_state(state: SittingState, event: SittingEvent) -> SittingState:
    try:
        return SITTING_TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionError(
            "SITTING_TRANSITION",
            f"会议状态 {state.name} 不能执行 {event.value} / sitting in state {state.name} cannot {event.value}",
        ) from None


def next_round_state(state: RoundState, event: RoundEvent) -> RoundState:
    try:
        return ROUND_TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionError(
            "ROUND_TRANSITION",
            f"表决轮次状态 {state.value} 不能执行 {event.value} / round in state {state.value} cannot {event.value}",
        ) from None
