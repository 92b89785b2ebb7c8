"""Chair and clerk commands: pure functions from state to events.

Each command checks the state machines in :mod:`gateway.core.states` and
the hall's rules, and returns the events to persist and apply, or raises a
:class:`CommandError` with a stable code.  Randomness (nonces) and the
clock come in as arguments, so the functions stay pure.
"""

from __future__ import annotations

import dataclasses

from gateway.rules import (
    ChairOverride,
    OpenDecision,
    RuleError,
    check_candidate_margin,
    check_quorum,
    require_quorum_to_open,
)
from protocol import consts

from .errors import CommandError
from .events import (
    Event,
    MotionAdded,
    ResultComputed,
    RoundClosed,
    RoundCreated,
    RoundFocused,
    RoundOpened,
    RoundStateChanged,
    SittingStateChanged,
)
from .results import compute_result
from .state import HallState, MotionSpec, RoundKey, RoundRun, SittingRun
from .states import (
    LIVE_ROUND_STATES,
    RoundEvent,
    RoundState,
    SittingEvent,
    SittingState,
    next_round_state,
    next_sitting_state,
)
from .tally import count

__all__ = [
    "add_motion",
    "announce_round",
    "close_round",
    "close_sitting",
    "focus_item",
    "open_checkin",
    "open_round",
    "pause_round",
    "rerun",
    "resume_round",
    "start_session",
]


def _sitting(state: HallState) -> SittingRun:
    if state.sitting is None:
        raise CommandError("NO_SITTING", "没有进行中的会议 / no sitting is loaded")
    return state.sitting


def _run(sitting: SittingRun, key: RoundKey) -> RoundRun:
    run = sitting.rounds.get(key)
    if run is None:
        raise CommandError(
            "NO_SUCH_ROUND", f"没有议题 {key[0]} 第 {key[1]} 轮 / no round {key[1]} of motion {key[0]}"
        )
    return run


def _sitting_step(state: HallState, event: SittingEvent, at: float) -> list[Event]:
    sitting = _sitting(state)
    target = next_sitting_state(sitting.state, event)
    return [SittingStateChanged(sitting.sitting_id, target, at)]


def open_checkin(state: HallState, *, at: float) -> list[Event]:
    return _sitting_step(state, SittingEvent.OPEN_CHECKIN, at)


def start_session(state: HallState, *, at: float) -> list[Event]:
    return _sitting_step(state, SittingEvent.START_SESSION, at)


def close_sitting(state: HallState, *, at: float) -> list[Event]:
    sitting = _sitting(state)
    if sitting.current is not None:
        raise CommandError("ROUND_LIVE", "请先结束正在进行的表决 / close the live round first")
    if any(run.state is RoundState.MANUAL for run in sitting.rounds.values()):
        raise CommandError("MANUAL_PENDING", "人工计票尚未确认 / a manual round awaits its confirmed counts")
    return _sitting_step(state, SittingEvent.CLOSE, at)


def add_motion(state: HallState, motion: MotionSpec, *, nonce: bytes, at: float) -> list[Event]:
    """Add a motion to the sitting with its first round, ready to open."""
    sitting = _sitting(state)
    if sitting.state is SittingState.CLOSED:
        raise CommandError("SITTING_CLOSED", "会议已结束 / the sitting is closed")
    if motion.motion_id in sitting.motions:
        raise CommandError(
            "DUPLICATE_MOTION", f"议题 {motion.motion_id} 已存在 / motion {motion.motion_id} exists"
        )
    _check_motion(motion)
    return [
        MotionAdded(sitting.sitting_id, motion, at),
        RoundCreated((motion.motion_id, 1), _nonce(nonce), at),
    ]


def _check_motion(motion: MotionSpec) -> None:
    kind, count_ = motion.ballot_kind, motion.item_count
    if kind not in consts.BALLOT_KINDS:
        raise CommandError("BAD_MOTION", f"未知票式 {kind} / unknown ballot kind {kind}")
    if (kind == consts.YES_NO_ABSTAIN and count_ != 1) or not 1 <= count_ <= consts.ITEMS_MAX:
        raise CommandError(
            "BAD_MOTION", f"事项数 {count_} 不符 / item count {count_} does not fit ballot kind {kind}"
        )
    allowed = ((1 << (consts.choice_max(kind) + 1)) - 1) & ~1
    if not motion.options or motion.options & ~allowed:
        raise CommandError("BAD_MOTION", f"选项掩码 {motion.options:#x} 无效 / invalid options mask")
    if motion.press_policy not in consts.PRESS_POLICIES:
        raise CommandError("BAD_MOTION", "按键规则无效 / unknown press policy")
    if motion.motion_id < 1 or motion.motion_id > 0xFFFFFFFF:
        raise CommandError("BAD_MOTION", "议题编号超出范围 / motion id out of range")
    if motion.passing_rule is None and kind != consts.RATING:
        raise CommandError("BAD_MOTION", "表决需要通过规则 / a vote needs a passing rule")
    if motion.select_k is not None:
        if kind != consts.ITEM_LIST:
            raise CommandError("BAD_MOTION", "只有项目票决可设名额 / only item lists select K")
        try:
            check_candidate_margin(count_, motion.select_k)
        except RuleError as exc:
            raise CommandError(exc.code, str(exc)) from None


def _nonce(nonce: bytes) -> bytes:
    if len(nonce) != consts.NONCE_LEN:
        raise CommandError("BAD_NONCE", f"nonce must be {consts.NONCE_LEN} bytes")
    return nonce


def open_round(
    state: HallState,
    key: RoundKey,
    *,
    at: float,
    override: ChairOverride | None = None,
) -> tuple[list[Event], OpenDecision]:
    """Open a ready round if the sitting is in session, no other round is live, and quorum holds.

    Without quorum the chair's override is accepted only where the sitting
    allows overrides; the decision says whether one was used (the caller
    records it in the audit log).
    """
    sitting = _sitting(state)
    run = _run(sitting, key)
    if sitting.state is not SittingState.IN_SESSION:
        raise CommandError("NOT_IN_SESSION", "会议未进入议程，不能表决 / the sitting is not in session")
    if sitting.current is not None and sitting.current != key:
        raise CommandError("ROUND_LIVE", "另一表决正在进行 / another round is live")
    next_round_state(run.state, RoundEvent.OPEN)
    status = check_quorum(sitting.expected, sitting.present, sitting.quorum_rule)
    try:
        decision = require_quorum_to_open(status, override, sitting.quorum_override_allowed)
    except RuleError as exc:
        raise CommandError(exc.code, str(exc)) from None
    motion = sitting.motions[run.motion_id]
    deadline = at + motion.countdown_s if motion.countdown_s else None
    event = RoundOpened(
        key, run.nonce, sitting.expected, sitting.present, decision.override_used, deadline, at
    )
    return [event], decision


def _round_step(state: HallState, key: RoundKey, event: RoundEvent, at: float) -> list[Event]:
    run = _run(_sitting(state), key)
    return [RoundStateChanged(key, next_round_state(run.state, event), at)]


def pause_round(state: HallState, key: RoundKey, *, at: float) -> list[Event]:
    return _round_step(state, key, RoundEvent.PAUSE, at)


def resume_round(state: HallState, key: RoundKey, *, at: float) -> list[Event]:
    return _round_step(state, key, RoundEvent.RESUME, at)


def announce_round(state: HallState, key: RoundKey, *, at: float) -> list[Event]:
    return _round_step(state, key, RoundEvent.ANNOUNCE, at)


def close_round(state: HallState, key: RoundKey, *, at: float) -> list[Event]:
    """Close a live round: freeze its totals and participants (and erase secret links)."""
    sitting = _sitting(state)
    run = _run(sitting, key)
    next_round_state(run.state, RoundEvent.CLOSE)
    motion = sitting.motions[run.motion_id]
    voted = [b for b in run.ballots.values() if b.pressed]
    totals = count(voted, motion.ballot_kind, motion.item_count)
    participants = frozenset(b.member_id for b in voted)
    closed = RoundClosed(key, motion.secret, participants, totals, sitting.expected, sitting.present, at)
    frozen = dataclasses.replace(
        run,
        ballots={},
        participants=participants,
        totals=totals,
        expected=sitting.expected,
        present=sitting.present,
    )
    return [closed, ResultComputed(key, compute_result(motion, frozen), at)]


def focus_item(state: HallState, key: RoundKey, item: int, *, at: float) -> list[Event]:
    """The chair puts one item (three-key keypads), or all items with 0xFF."""
    sitting = _sitting(state)
    run = _run(sitting, key)
    motion = sitting.motions[run.motion_id]
    if item != consts.ALL_ITEMS and not 0 <= item < motion.item_count:
        raise CommandError("BAD_ITEM", f"事项 {item} 不存在 / no item {item}")
    if run.state not in (RoundState.READY, *LIVE_ROUND_STATES):
        raise CommandError("ROUND_TRANSITION", "表决已结束 / the round is closed")
    return [RoundFocused(key, item, at)]


def rerun(state: HallState, motion_id: int, *, nonce: bytes, at: float) -> list[Event]:
    """A new round of a motion whose latest round is closed or announced; every round is kept."""
    sitting = _sitting(state)
    numbers = [n for (m, n) in sitting.rounds if m == motion_id]
    if not numbers:
        raise CommandError("NO_SUCH_MOTION", f"没有议题 {motion_id} / no motion {motion_id}")
    latest = sitting.rounds[(motion_id, max(numbers))]
    if latest.state not in (RoundState.CLOSED, RoundState.ANNOUNCED):
        raise CommandError("ROUND_NOT_CLOSED", "上一轮尚未结束 / the latest round is not closed")
    if latest.number >= 255:
        raise CommandError("TOO_MANY_ROUNDS", "轮次已达上限 / no more rounds")
    return [RoundCreated((motion_id, latest.number + 1), _nonce(nonce), at)]
