"""The result of a closed round, by the motion's rule (gateway.rules), and its broadcast frame.

Pure: computed from the motion and the round's frozen totals, expected and
present, so the same closed round always gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.rules import (
    FOUR_GRADE,
    THREE_GRADE,
    CandidateTally,
    Grade,
    Standing,
    VoteCounts,
    rate,
    select_projects,
)
from gateway.rules import decide as decide_passing
from protocol import consts
from protocol.frames import ResultSummary

from .state import ManualEntry, MotionSpec, RoundRun

__all__ = ["MANUAL_METHODS", "ItemResult", "RoundResult", "compute_result", "manual_result"]

# How a manual round was counted: code -> (Chinese, English).
MANUAL_METHODS = {"show_of_hands": ("举手表决", "show of hands"), "paper": ("纸质票", "paper ballot")}

_GRADES = {
    consts.EXCELLENT: Grade.EXCELLENT,
    consts.SATISFIED: Grade.SATISFIED,
    consts.BASIC: Grade.BASICALLY_SATISFIED,
    consts.UNSATISFIED: Grade.UNSATISFIED,
}
_GRADE_CODES = {grade: code for code, grade in _GRADES.items()}
_STANDING = {
    Standing.SELECTED: consts.OUTCOME_SELECTED,
    Standing.TIED: consts.OUTCOME_TIE,
    Standing.RANKED_OUT: consts.OUTCOME_NOT_SELECTED,
    Standing.NOT_PASSED: consts.OUTCOME_FAILED,
}
OUTCOME_LABELS = {
    consts.OUTCOME_NONE: ("—", "—"),
    consts.OUTCOME_PASSED: ("通过", "passed"),
    consts.OUTCOME_FAILED: ("未通过", "not passed"),
    consts.OUTCOME_SELECTED: ("当选", "selected"),
    consts.OUTCOME_NOT_SELECTED: ("通过但未入选", "passed, not selected"),
    consts.OUTCOME_TIE: ("票数相同待重新表决", "tie: to be re-voted"),
}


@dataclass(frozen=True)
class ItemResult:
    index: int
    counts: tuple[int, ...]  # yes/no/abstain, or grades 1..4
    outcome: int  # a protocol outcome code; for ratings the carrying grade code
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class RoundResult:
    motion_id: int
    round: int
    ballot_kind: int
    expected: int
    present: int
    voted: int
    not_pressed: int
    outcome: int
    items: tuple[ItemResult, ...]
    rule_zh: str
    rule_en: str
    note_zh: str = ""
    note_en: str = ""
    # The audit record that froze this result (its seq and hash, the chain's head
    # right then): published with the result, set once the record is committed.
    audit_seq: int = 0
    audit_head: str = ""
    # A manual round (keypads failed): the confirmed entry and who confirmed it.
    manual: ManualEntry | None = None
    confirmed_by: str = ""

    def frame(self) -> ResultSummary:
        return ResultSummary(
            self.motion_id,
            self.round,
            self.ballot_kind,
            self.expected,
            self.present,
            self.not_pressed,
            self.outcome,
            tuple((item.outcome, item.counts) for item in self.items),
            self.audit_seq,
            bytes.fromhex(self.audit_head) if self.audit_head else bytes(consts.HEAD_LEN),
        )


def _make(
    motion: MotionSpec,
    run: RoundRun,
    *,
    outcome: int,
    items: tuple[ItemResult, ...],
    rule_zh: str,
    rule_en: str,
    note_zh: str = "",
    note_en: str = "",
) -> RoundResult:
    voted = len(run.participants)
    return RoundResult(
        run.motion_id,
        run.number,
        motion.ballot_kind,
        run.expected,
        run.present,
        voted,
        max(run.present - voted, 0),
        outcome,
        items,
        rule_zh,
        rule_en,
        note_zh,
        note_en,
    )


def _counts(row: tuple[int, ...], kind: int) -> tuple[int, ...]:
    width = consts.options_per_item(kind)
    return tuple(row[1 : 1 + width]) + (0,) * (width - len(row[1:]))


def compute_result(motion: MotionSpec, run: RoundRun) -> RoundResult:
    """The result of a closed round (``run.totals``, ``run.expected``, ``run.present`` frozen)."""
    kind = motion.ballot_kind
    rows = [_counts(row, kind) for row in run.totals]
    if kind == consts.RATING:
        return _rating(motion, run, rows)
    if kind == consts.ITEM_LIST and motion.select_k:
        return _selection(motion, run, rows)
    rule = motion.passing_rule
    assert rule is not None, "votes and item lists carry a passing rule (checked by add_motion)"
    items = []
    for i, (yes, no, abstain) in enumerate(rows):
        vote = decide_passing(
            VoteCounts(yes, no, abstain), expected=run.expected, present=run.present, rule=rule
        )
        code = consts.OUTCOME_PASSED if vote.passed else consts.OUTCOME_FAILED
        items.append(ItemResult(i, (yes, no, abstain), code, *OUTCOME_LABELS[code]))
    overall = items[0].outcome if kind == consts.YES_NO_ABSTAIN else consts.OUTCOME_NONE
    return _make(
        motion,
        run,
        outcome=overall,
        items=tuple(items),
        rule_zh=rule.describe("zh"),
        rule_en=rule.describe("en"),
    )


def _selection(motion: MotionSpec, run: RoundRun, rows: list[tuple[int, ...]]) -> RoundResult:
    assert motion.select_k is not None and motion.passing_rule is not None
    tallies = [CandidateTally(str(i), yes, no, abstain) for i, (yes, no, abstain) in enumerate(rows)]
    selection = select_projects(
        tallies, motion.select_k, run.present, motion.passing_rule, expected=run.expected
    )
    items = []
    for outcome in selection.outcomes:
        code = _STANDING[outcome.standing]
        i = int(outcome.candidate_id)
        items.append(ItemResult(i, rows[i], code, outcome.standing.label("zh"), outcome.standing.label("en")))
    if selection.tie is not None:
        overall, note_zh, note_en = (
            consts.OUTCOME_TIE,
            selection.tie.describe("zh", _labels(motion)),
            selection.tie.describe("en", _labels(motion)),
        )
    else:
        overall = consts.OUTCOME_SELECTED if selection.selected else consts.OUTCOME_FAILED
        note_zh = f"当选 {len(selection.selected)} 项, 名额 {motion.select_k} 项"
        note_en = f"{len(selection.selected)} selected of {motion.select_k} places"
    rule = motion.passing_rule
    return _make(
        motion,
        run,
        outcome=overall,
        items=tuple(items),
        rule_zh=rule.describe("zh"),
        rule_en=rule.describe("en"),
        note_zh=note_zh,
        note_en=note_en,
    )


def _labels(motion: MotionSpec) -> dict[str, str]:
    """Candidate id (the item index as text) -> the item's label, for notes the chair reads."""
    return {str(i): label for i, label in enumerate(motion.item_labels) if label}


def _rating(motion: MotionSpec, run: RoundRun, rows: list[tuple[int, ...]]) -> RoundResult:
    rule = FOUR_GRADE if motion.options & (1 << consts.EXCELLENT) else THREE_GRADE
    items = []
    for i, row in enumerate(rows):
        counts = {_GRADES[code]: row[code - 1] for code in _GRADES if _GRADES[code] in rule.grades}
        rated = rate(counts, run.expected, rule, present=run.present)
        grade = rated.grade
        items.append(ItemResult(i, row, _GRADE_CODES[grade], grade.label("zh"), grade.label("en")))
    return _make(
        motion,
        run,
        outcome=consts.OUTCOME_NONE,
        items=tuple(items),
        rule_zh=rule.describe("zh"),
        rule_en=rule.describe("en"),
    )


def manual_result(motion: MotionSpec, run: RoundRun, entry: ManualEntry, confirmed_by: str) -> RoundResult:
    """The result of a manual round: the entered counts through the motion's rule, marked manual.

    已按 (voted) is the largest item total, 未按 (not pressed) the rest of 实到.
    """
    frozen = RoundRun(
        run.motion_id,
        run.number,
        run.nonce,
        totals=tuple((0, *row) for row in entry.counts),
        expected=entry.expected,
        present=entry.present,
    )
    result = compute_result(motion, frozen)
    voted = entry.voted
    return replace(
        result,
        voted=voted,
        not_pressed=max(entry.present - voted, 0),
        manual=entry,
        confirmed_by=confirmed_by,
    )
