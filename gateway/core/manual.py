"""Manual fallback: a round counted by show of hands or paper when keypads fail (pure commands).

Two people, two roles: the clerk enters the counts with a reason and the
chair confirms them; a chair's own entry needs the clerk's confirmation.
The confirmer must be a different person in the other of the two roles
(MANUAL_SAME_PERSON, MANUAL_CONFIRMER); the same rule applies to a
rejection.  Counts are checked against the motion (one row per item, one
count per choice, a choice the motion does not offer stays 0) and 实到 (no
item's total above it).  A confirmed entry closes the round with a result
computed by the motion's rule, which replaces any keypad tally.
"""

from __future__ import annotations

from collections.abc import Sequence

from protocol import consts

from .errors import CommandError
from .events import Event, ManualConfirmed, ManualEntered, ManualRejected, ResultComputed
from .results import MANUAL_METHODS, manual_result
from .state import HallState, ManualEntry, RoundKey, RoundRun, SittingRun
from .states import RoundEvent, RoundState, next_round_state

__all__ = ["MANUAL_ROLES", "confirm_manual", "enter_manual", "reject_manual"]

# The roles that enter and confirm manual counts; each confirms the other's entry.
MANUAL_ROLES = ("clerk", "chair")
MAX_REASON = 500


def _round(state: HallState, key: RoundKey) -> tuple[SittingRun, RoundRun]:
    sitting = state.sitting
    if sitting is None:
        raise CommandError("NO_SITTING", "没有进行中的会议 / no sitting is loaded")
    run = sitting.rounds.get(key)
    if run is None:
        raise CommandError(
            "NO_SUCH_ROUND", f"没有议题 {key[0]} 第 {key[1]} 轮 / no round {key[1]} of motion {key[0]}"
        )
    return sitting, run


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise CommandError("MANUAL_NO_REASON", "须填写原因 / a reason is required")
    if len(text) > MAX_REASON:
        raise CommandError(
            "MANUAL_NO_REASON", f"原因过长（最多 {MAX_REASON} 字）/ reason longer than {MAX_REASON}"
        )
    return text


def _role(role: str) -> None:
    if role not in MANUAL_ROLES:
        raise CommandError("FORBIDDEN", "仅书记员或主持人可录入或确认人工计票 / only the clerk or chair")


def _counts(
    counts: Sequence[Sequence[int]], kind: int, item_count: int, options: int, present: int
) -> tuple[tuple[int, ...], ...]:
    width = consts.options_per_item(kind)
    if len(counts) != item_count or any(len(row) != width for row in counts):
        raise CommandError(
            "MANUAL_BAD_COUNTS",
            f"须为 {item_count} 项、每项 {width} 个计数 / expected {item_count} item(s) of {width} counts each",
        )
    rows = []
    for i, row in enumerate(counts):
        for code, n in enumerate(row, start=1):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise CommandError(
                    "MANUAL_BAD_COUNTS",
                    f"第 {i + 1} 项计数须为非负整数 / item {i + 1}: counts must be non-negative",
                )
            if n and not (options >> code) & 1:
                raise CommandError(
                    "MANUAL_BAD_COUNTS",
                    f"第 {i + 1} 项：本议题没有选项 {code} / item {i + 1}: choice {code} is not offered",
                )
        if sum(row) > present:
            raise CommandError(
                "MANUAL_OVER_PRESENT",
                f"第 {i + 1} 项合计 {sum(row)} 超过实到 {present} / item {i + 1}: total {sum(row)} exceeds "
                f"present {present}",
            )
        rows.append(tuple(row))
    return tuple(rows)


def enter_manual(
    state: HallState,
    key: RoundKey,
    *,
    counts: Sequence[Sequence[int]],
    method: str,
    reason: str,
    by: str,
    role: str,
    at: float,
) -> list[Event]:
    """Declare a ready or closed round manual with counts entered by hand (replacing a pending entry)."""
    _role(role)
    sitting, run = _round(state, key)
    next_round_state(run.state, RoundEvent.ENTER_MANUAL)
    if run.state is RoundState.CLOSED and run.result is not None and run.result.manual is not None:
        raise CommandError(
            "MANUAL_CONFIRMED",
            "人工计票已确认；如需更正请重新表决 / manual counts confirmed; re-run to correct",
        )
    if method not in MANUAL_METHODS:
        raise CommandError("MANUAL_BAD_METHOD", f"未知计票方式 {method} / unknown method {method}")
    motion = sitting.motions[run.motion_id]
    if run.manual is not None:
        expected, present = run.manual.expected, run.manual.present
    elif run.closed_at is not None:
        expected, present = run.expected, run.present  # frozen when the keypad round closed
    else:
        expected, present = sitting.expected, sitting.present
    rows = _counts(counts, motion.ballot_kind, motion.item_count, motion.options, present)
    entry = ManualEntry(method, _reason(reason), rows, expected, present, by, role, at)
    return [ManualEntered(key, entry, at)]


def _checker(run: RoundRun, by: str, role: str) -> ManualEntry:
    _role(role)
    entry = run.manual
    if run.state is not RoundState.MANUAL or entry is None:
        raise CommandError("NO_MANUAL_ENTRY", "没有待确认的人工计票 / no manual entry awaits confirmation")
    if by == entry.entered_by:
        raise CommandError(
            "MANUAL_SAME_PERSON",
            "录入人不能确认自己录入的计票 / the person who entered the counts cannot confirm them",
        )
    if role == entry.entered_role:
        other = "主持人 / the chair" if role == "clerk" else "书记员 / the clerk"
        raise CommandError(
            "MANUAL_CONFIRMER", f"须由{other}确认 / must be confirmed by {other.split(' / ')[1]}"
        )
    return entry


def confirm_manual(state: HallState, key: RoundKey, *, by: str, role: str, at: float) -> list[Event]:
    """The other person confirms: the round closes with the manual result, replacing any keypad tally."""
    sitting, run = _round(state, key)
    entry = _checker(run, by, role)
    next_round_state(run.state, RoundEvent.CONFIRM_MANUAL)
    result = manual_result(sitting.motions[run.motion_id], run, entry, by)
    return [ManualConfirmed(key, entry, by, at), ResultComputed(key, result, at)]


def reject_manual(
    state: HallState, key: RoundKey, *, by: str, role: str, reason: str, at: float
) -> list[Event]:
    """The other person refuses the pending entry (with a reason); the round stays manual."""
    _, run = _round(state, key)
    entry = _checker(run, by, role)
    next_round_state(run.state, RoundEvent.REJECT_MANUAL)
    return [ManualRejected(key, entry.entered_by, by, _reason(reason), at)]
