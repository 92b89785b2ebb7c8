"""The retained hall broadcasts built from the committed state: the sitting and a round's motion.

Pure: the hall, the sitting and the time in, an :class:`Outbound` out; the
running gateway decides when they go out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.core.events import (
    Event,
    ManualConfirmed,
    ManualEntered,
    RoundClosed,
    RoundFocused,
    RoundOpened,
    RoundStateChanged,
)
from gateway.core.state import RoundKey, SittingRun
from gateway.core.states import RoundState
from protocol import codec, consts, topics
from protocol.frames import MotionClosed, MotionOpen, SittingState

from .handler import Outbound

__all__ = ["ROUND_EVENTS", "motion_frame", "round_frames", "sitting_frame"]

ROUND_EVENTS = frozenset(
    {RoundOpened, RoundStateChanged, RoundFocused, RoundClosed, ManualEntered, ManualConfirmed}
)
"""Events that change what the retained motion broadcast of their round says."""


def sitting_frame(hall_id: str, sitting: SittingRun, now: int) -> Outbound:
    """The retained sitting broadcast: state, nonce, 应到/实到, issued at ``now``."""
    frame = SittingState(
        sitting.sitting_id, int(sitting.state), sitting.nonce, sitting.expected, sitting.present, now
    )
    return Outbound(topics.broadcast(hall_id, "sitting"), codec.encode(frame), retain=True)


def motion_frame(hall_id: str, sitting: SittingRun, key: RoundKey, now: int) -> Outbound:
    """The retained motion broadcast of round ``key``: open (or paused) with its ballot, else closed."""
    run = sitting.rounds[key]
    motion = sitting.motions[key[0]]
    if run.state in (RoundState.OPEN, RoundState.PAUSED):
        flags = (consts.FLAG_SECRET if motion.secret else 0) | (
            consts.FLAG_PAUSED if run.state is RoundState.PAUSED else 0
        )
        frame: MotionOpen | MotionClosed = MotionOpen(
            run.motion_id,
            run.number,
            run.nonce,
            motion.ballot_kind,
            motion.item_count,
            motion.options,
            motion.press_policy,
            flags,
            run.focus,
            now,
            int(run.deadline or 0),
        )
    else:
        frame = MotionClosed(run.motion_id, run.number, run.nonce, now)
    return Outbound(topics.broadcast(hall_id, "motion"), codec.encode(frame), retain=True)


def round_frames(hall_id: str, sitting: SittingRun, events: Sequence[Event], now: int) -> list[Outbound]:
    """The motion broadcast of each round ``events`` changed (in round order), and an announced
    round's retained result."""
    keys = {e.round for e in events if type(e) in ROUND_EVENTS}  # type: ignore[union-attr]
    out: list[Outbound] = []
    for key in sorted(keys):
        if key in sitting.rounds:
            out.append(motion_frame(hall_id, sitting, key, now))
            run = sitting.rounds[key]
            if run.state is RoundState.ANNOUNCED and run.result is not None:
                out.append(
                    Outbound(
                        topics.broadcast(hall_id, "result"), codec.encode(run.result.frame()), retain=True
                    )
                )
    return out
