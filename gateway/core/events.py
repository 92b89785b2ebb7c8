"""Events: every change the core decides, as immutable values.

The store persists them (in one transaction per batch) before any ack is
sent, and :func:`gateway.core.apply.apply` applies them to the in-memory
state.  An event carries everything needed to apply it, so applying is
deterministic and never fails for an event the core produced.
"""

from __future__ import annotations

from dataclasses import dataclass

from .results import RoundResult
from .state import Accepted, Ballot, ManualEntry, MotionSpec, RoundKey
from .states import RoundState, SittingState

__all__ = [
    "CheckInRecorded",
    "DeviceHealth",
    "Event",
    "FrameAccepted",
    "ManualConfirmed",
    "ManualEntered",
    "ManualRejected",
    "MotionAdded",
    "ResultComputed",
    "RoundClosed",
    "RoundCreated",
    "RoundFocused",
    "RoundOpened",
    "RoundStateChanged",
    "SittingStateChanged",
    "VoteRecorded",
]


@dataclass(frozen=True)
class FrameAccepted:
    device_id: str
    accepted: Accepted


@dataclass(frozen=True)
class DeviceHealth:
    device_id: str
    counter: int
    firmware: tuple[int, int, int]
    uptime_s: int
    battery: int
    rssi: int
    free_heap: int
    at: float


@dataclass(frozen=True)
class CheckInRecorded:
    sitting_id: int
    member_id: int
    seat: str
    device_id: str
    counter: int
    late: bool
    card_uid: bytes
    at: float


@dataclass(frozen=True)
class VoteRecorded:
    """A member's ballot after merging one accepted vote frame."""

    round: RoundKey
    ballot: Ballot
    counter: int
    replaced: bool
    secret: bool
    at: float


@dataclass(frozen=True)
class SittingStateChanged:
    sitting_id: int
    state: SittingState
    at: float


@dataclass(frozen=True)
class MotionAdded:
    sitting_id: int
    motion: MotionSpec
    at: float


@dataclass(frozen=True)
class RoundCreated:
    """A motion's round, ready to open: round 1 when the motion is added, the next one on a re-run."""

    round: RoundKey
    nonce: bytes
    at: float


@dataclass(frozen=True)
class RoundOpened:
    round: RoundKey
    nonce: bytes
    expected: int
    present: int
    quorum_override: bool
    deadline: float | None
    at: float


@dataclass(frozen=True)
class RoundStateChanged:
    round: RoundKey
    state: RoundState
    at: float


@dataclass(frozen=True)
class RoundFocused:
    round: RoundKey
    focus: int
    at: float


@dataclass(frozen=True)
class RoundClosed:
    """The round stops taking votes; for a secret round, per-member links are erased.

    ``totals`` has one tuple per item with the count of each choice code
    (index = code, index 0 unused); ``participants`` are the members with
    an accepted vote; ``expected`` and ``present`` (应到, 实到) are frozen
    with the totals, so the result is computed from this event alone.
    """

    round: RoundKey
    secret: bool
    participants: frozenset[int]
    totals: tuple[tuple[int, ...], ...]
    expected: int
    present: int
    at: float


@dataclass(frozen=True)
class ResultComputed:
    """The round's result by the motion's rule, computed when it closed and frozen with it."""

    round: RoundKey
    result: RoundResult
    at: float


@dataclass(frozen=True)
class ManualEntered:
    """Counts entered by hand (the round becomes manual); they replace any pending entry."""

    round: RoundKey
    entry: ManualEntry
    at: float


@dataclass(frozen=True)
class ManualRejected:
    """The pending manual entry was refused by the person asked to confirm it."""

    round: RoundKey
    entered_by: str
    by: str
    reason: str
    at: float


@dataclass(frozen=True)
class ManualConfirmed:
    """The pending manual entry was confirmed by the other person: the round closes with it."""

    round: RoundKey
    entry: ManualEntry
    by: str
    at: float


Event = (
    FrameAccepted
    | DeviceHealth
    | CheckInRecorded
    | VoteRecorded
    | SittingStateChanged
    | MotionAdded
    | RoundCreated
    | RoundOpened
    | RoundStateChanged
    | RoundFocused
    | RoundClosed
    | ResultComputed
    | ManualEntered
    | ManualRejected
    | ManualConfirmed
)
