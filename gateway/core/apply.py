"""apply(state, event): the one place the in-memory hall state changes.

Deterministic and total for events the core produced.  The store applies
the same events to the database; after a restart the state is loaded from
the database instead of replayed.

Copy on write: a round run, replay window, or a sitting's attendance or
motions map is changed in place only if this state made it
(``HallState.owned``); one shared with the state it was forked from is
copied first, so applying to a fork never changes the committed state it
came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from protocol import consts

from .events import (
    CheckInRecorded,
    DeviceHealth,
    Event,
    FrameAccepted,
    ManualConfirmed,
    ManualEntered,
    ManualRejected,
    MotionAdded,
    ResultComputed,
    RoundClosed,
    RoundCreated,
    RoundFocused,
    RoundOpened,
    RoundStateChanged,
    SittingStateChanged,
    VoteRecorded,
)
from .state import Accepted, Attendance, HallState, MotionSpec, ReplayWindow, RoundRun, SittingRun
from .states import LIVE_ROUND_STATES, RoundState

__all__ = ["apply", "apply_all"]


def _sitting(state: HallState) -> SittingRun:
    assert state.sitting is not None, "event for a sitting while none is loaded"
    return state.sitting


def _round(state: HallState, key: tuple[int, int]) -> RoundRun:
    """The round run to change: this state's own copy."""
    rounds = _sitting(state).rounds
    run = rounds[key]
    if id(run) not in state.owned:
        run = replace(run, ballots=dict(run.ballots), tally=run.tally.copy() if run.tally else None)
        rounds[key] = run
        state.owned.add(id(run))
    return run


def _attendance(state: HallState) -> dict[int, Attendance]:
    """The sitting's attendance to change: this state's own copy."""
    sitting = _sitting(state)
    if id(sitting.attendance) not in state.owned:
        sitting.attendance = dict(sitting.attendance)
        state.owned.add(id(sitting.attendance))
    return sitting.attendance


def _motions(state: HallState) -> dict[int, MotionSpec]:
    """The sitting's motions to change: this state's own copy."""
    sitting = _sitting(state)
    if id(sitting.motions) not in state.owned:
        sitting.motions = dict(sitting.motions)
        state.owned.add(id(sitting.motions))
    return sitting.motions


def _window(state: HallState, device_id: str) -> ReplayWindow:
    """The device's replay window to change: this state's own copy."""
    window = state.replay.get(device_id)
    if window is None or id(window) not in state.owned:
        window = window.copy() if window else ReplayWindow()
        state.replay[device_id] = window
        state.owned.add(id(window))
    return window


def apply(state: HallState, event: Event) -> None:
    if isinstance(event, FrameAccepted):
        accepted = event.accepted
        _window(state, event.device_id).record(accepted, secret=_secret_vote(state, accepted))
    elif isinstance(event, DeviceHealth):
        pass  # health lives in the store and the device list, not in the vote path
    elif isinstance(event, CheckInRecorded):
        _attendance(state)[event.member_id] = Attendance(
            event.member_id, event.seat, event.device_id, event.counter, event.at, event.late
        )
    elif isinstance(event, VoteRecorded):
        run = _round(state, event.round)
        previous = run.ballots.get(event.ballot.member_id)
        run.ballots[event.ballot.member_id] = event.ballot
        if run.tally is not None:
            run.tally.replace(previous, event.ballot)  # by the delta: never a recount per vote
    elif isinstance(event, SittingStateChanged):
        _sitting(state).state = event.state
    elif isinstance(event, MotionAdded):
        _motions(state)[event.motion.motion_id] = event.motion
    elif isinstance(event, RoundCreated):
        motion_id, number = event.round
        run = RoundRun(motion_id, number, event.nonce)
        _sitting(state).rounds[event.round] = run
        state.owned.add(id(run))
    elif isinstance(event, RoundOpened):
        sitting = _sitting(state)
        run = _round(state, event.round)
        run.state = RoundState.OPEN
        run.nonce = event.nonce
        run.opened_at = event.at
        run.deadline = event.deadline
        run.quorum_override = event.quorum_override
        sitting.current = event.round
    elif isinstance(event, RoundStateChanged):
        sitting = _sitting(state)
        run = _round(state, event.round)
        run.state = event.state
        if event.state not in LIVE_ROUND_STATES and sitting.current == event.round:
            sitting.current = None
    elif isinstance(event, RoundFocused):
        _round(state, event.round).focus = event.focus
    elif isinstance(event, RoundClosed):
        sitting = _sitting(state)
        run = _round(state, event.round)
        run.state = RoundState.CLOSED
        run.closed_at = event.at
        run.participants = event.participants
        run.totals = event.totals
        run.expected = event.expected
        run.present = event.present
        run.tally = None  # a closed round shows its frozen totals
        if sitting.current == event.round:
            sitting.current = None
        if event.secret:
            _erase_secret_links(state, run)
    elif isinstance(event, ResultComputed):
        _round(state, event.round).result = event.result
    elif isinstance(event, ManualEntered):
        run = _round(state, event.round)
        run.state = RoundState.MANUAL
        run.manual = event.entry
        run.result = None  # a keypad result is set aside until the manual one is confirmed
    elif isinstance(event, ManualRejected):
        _round(state, event.round).manual = None
    elif isinstance(event, ManualConfirmed):
        run = _round(state, event.round)
        run.state = RoundState.CLOSED
        run.closed_at = event.at
        run.totals = tuple((0, *row) for row in event.entry.counts)
        run.participants = frozenset()
        run.expected = event.entry.expected
        run.present = event.entry.present
        run.manual = None


def _secret_vote(state: HallState, accepted: Accepted) -> bool:
    if accepted.frame_type != consts.VOTE or state.sitting is None:
        return False
    motion = state.sitting.motions.get(accepted.ref_id)
    return motion is not None and motion.secret


def _erase_secret_links(state: HallState, run: RoundRun) -> None:
    """After a secret round closes nothing in memory links a member, seat or device to a choice.

    A vote whose whole first answer the window already dropped was made
    blind then (``ReplayWindow.record``), so only the held answers are looked at.
    """
    run.ballots = {}
    for device_id, shared in list(state.replay.items()):
        for counter, accepted in list(shared.records.items()):
            if (
                accepted.ref_id == run.motion_id
                and accepted.round == run.number
                and accepted.frame_type == consts.VOTE
            ):
                _window(state, device_id).erase(counter)


def apply_all(state: HallState, events: Iterable[Event]) -> None:
    for event in events:
        apply(state, event)
