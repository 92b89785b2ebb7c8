"""The retained hall broadcasts built from the committed state: the sitting and a round's motion.

Pure: the hall, the sitting and the time in, an :class:`Outbound` out; the
running gateway decides when they go out.
"""

from __future__ import annotations

from gateway.core.state import RoundKey, SittingRun
from gateway.core.states import RoundState
from protocol import codec, consts, topics
from protocol.frames import MotionClosed, MotionOpen, SittingState

from .handler import Outbound

__all__ = ["motion_frame", "sitting_frame"]


def sitting_frame(hall_id: str, sitting: SittingRun, now: int) -> Outbound:
    """The retained sitting broadcast: state, nonce, 应到/实到, issued at ``now``."""
    frame = SittingState(sitting.sitting_id, int(sitting.state), sitting.nonce, sitting.expected, sitting.present, now)
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
