"""The gateway's in-memory picture of one hall, rebuilt from the store at start.

Plain mutable containers: only :func:`gateway.core.apply.apply` changes
them, from events; :func:`gateway.core.decide.decide` and the commands only
read them.  Members are identified by their integer id, seats by label.

The gateway never changes the state it runs on: it decides a batch on
:meth:`HallState.fork`, writes the batch's events to the store, and only
when the commit succeeded does the fork become the live state.  A fork has
its own sitting run, ``rounds`` and ``replay`` maps; what it shares with its
origin (the round runs, replay windows, a sitting's ``attendance`` and
``motions``) is copied by ``apply`` the first time it writes to it (copy on
write), so the origin stays exactly what was committed and a batch of votes
does not copy the hall's attendance.  ``devices`` is shared: ``apply`` never
writes it (a change of keypads reloads the whole state).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gateway.rules import PassingRule, QuorumRule

from .replay import WINDOW, Accepted, ReplayWindow
from .states import RoundState, SittingState

if TYPE_CHECKING:
    from .results import RoundResult
    from .tally import LiveTally

__all__ = [
    "REPLAY_WINDOW",
    "Accepted",
    "Attendance",
    "Ballot",
    "DeviceEntry",
    "HallState",
    "ManualEntry",
    "MotionSpec",
    "ReplayWindow",
    "RoundKey",
    "RoundRun",
    "SittingRun",
]

REPLAY_WINDOW = WINDOW

RoundKey = tuple[int, int]  # (motion_id, round number)


@dataclass
class DeviceEntry:
    device_id: str
    public_key: bytes
    seat: str | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Attendance:
    member_id: int
    seat: str
    device_id: str
    counter: int
    at: float
    late: bool


@dataclass(frozen=True)
class Ballot:
    """One member's recorded choices in one round, with the counter that set each item."""

    member_id: int
    seat: str
    device_id: str
    choices: tuple[int, ...]
    item_counters: tuple[int, ...]

    @property
    def pressed(self) -> bool:
        return any(self.choices)


@dataclass(frozen=True)
class ManualEntry:
    """Counts entered by hand for a round whose keypads failed, awaiting the other person's confirmation.

    ``counts`` has one row per item with the count of each choice (yes, no,
    abstain; or the grades of a rating), index 0 = choice code 1;
    ``expected`` and ``present`` (应到, 实到) are frozen at entry.
    """

    method: str  # "show_of_hands" (举手) or "paper" (纸质票)
    reason: str
    counts: tuple[tuple[int, ...], ...]
    expected: int
    present: int
    entered_by: str
    entered_role: str
    at: float

    @property
    def voted(self) -> int:
        """Members counted: the largest item total (each member counts once per item)."""
        return max((sum(row) for row in self.counts), default=0)


@dataclass(frozen=True)
class MotionSpec:
    motion_id: int
    title: str
    ballot_kind: int
    item_count: int
    options: int
    press_policy: int
    secret: bool
    passing_rule: PassingRule | None  # None only for ratings (the rating rule applies)
    countdown_s: int | None = None
    select_k: int | None = None  # livelihood projects: how many to select
    item_labels: tuple[str, ...] = ()  # item lists and ratings: each item's label (项目10 ...)


@dataclass
class RoundRun:
    motion_id: int
    number: int
    nonce: bytes
    state: RoundState = RoundState.READY
    focus: int = 0xFF
    opened_at: float | None = None
    deadline: float | None = None
    closed_at: float | None = None
    quorum_override: bool = False
    ballots: dict[int, Ballot] = field(default_factory=dict)
    # Filled when a secret round closes, after its ballots are erased.
    participants: frozenset[int] = frozenset()
    totals: tuple[tuple[int, ...], ...] = ()
    expected: int = 0
    present: int = 0
    result: RoundResult | None = None
    manual: ManualEntry | None = None  # the pending manual entry (state manual)
    # Live counts of ``ballots``, moved by apply per vote (gateway.core.tally); None: count when asked.
    tally: LiveTally | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> RoundKey:
        return (self.motion_id, self.number)


@dataclass
class SittingRun:
    sitting_id: int
    nonce: bytes
    quorum_rule: QuorumRule
    roster: frozenset[int]
    seat_map: dict[str, int]
    state: SittingState = SittingState.SETUP
    late_checkin: bool = True
    quorum_override_allowed: bool = False
    # Member cards on record (member id -> card UID) and whether a keypad
    # without a reader (empty card_uid) may check in a member who has one.
    cards: dict[int, bytes] = field(default_factory=dict)
    readerless_checkin: bool = False
    attendance: dict[int, Attendance] = field(default_factory=dict)
    motions: dict[int, MotionSpec] = field(default_factory=dict)
    rounds: dict[RoundKey, RoundRun] = field(default_factory=dict)
    current: RoundKey | None = None

    @property
    def expected(self) -> int:
        return len(self.roster)

    @property
    def present(self) -> int:
        return len(self.attendance)


@dataclass
class HallState:
    hall_id: str
    devices: dict[str, DeviceEntry] = field(default_factory=dict)
    replay: dict[str, ReplayWindow] = field(default_factory=dict)
    sitting: SittingRun | None = None
    # ids of the round runs and replay windows this state made itself (apply may change them in place)
    owned: set[int] = field(default_factory=set, repr=False, compare=False)

    def fork(self) -> HallState:
        """A state equal to this one that ``apply`` may change without changing this one."""
        sitting = self.sitting
        if sitting is not None:  # attendance and motions: copied by apply when it first writes them
            sitting = replace(sitting, rounds=dict(sitting.rounds))
        return HallState(self.hall_id, self.devices, dict(self.replay), sitting)
