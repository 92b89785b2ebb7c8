"""The live picture the console and the big screen show, computed from the committed hall state.

Pure but for one derived cache: a live round's :class:`~gateway.core.tally.LiveTally` is counted
from its ballots the first time a picture needs it, then kept up to date by apply.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from gateway.core.state import HallState, RoundKey, RoundRun
from gateway.core.states import RoundState
from gateway.core.tally import live_tally

__all__ = ["live_picture"]


def live_picture(
    hall_id: str,
    version: int,
    state: HallState,
    purge_pending: Collection[RoundKey],
    notices: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Sitting with 应到/实到, and the current (or latest) round.

    Counts of a named round are live; a secret round shows only how many
    have voted until it closes, then its totals and result.  With no live
    round the picture shows a round awaiting manual counts, else the latest;
    a manual result says so (``manual``, ``manual_method``).
    """
    sitting = state.sitting
    data: dict[str, Any] = {
        "hall": hall_id,
        "version": version,
        "sitting": None,
        "round": None,
        "notices": list(notices),
    }
    if sitting is None:
        return data
    data["sitting"] = {
        "id": sitting.sitting_id,
        "state": sitting.state.name.lower(),
        "expected": sitting.expected,
        "present": sitting.present,
    }
    key = sitting.current or (
        max(sitting.rounds, key=lambda k: _recent(sitting.rounds[k])) if sitting.rounds else None
    )
    if key is None:
        return data
    run = sitting.rounds[key]
    motion = sitting.motions[key[0]]
    closed = run.state in (RoundState.CLOSED, RoundState.ANNOUNCED)
    manual = run.state is RoundState.MANUAL  # counted by hand: no keypad figures until confirmed
    totals: tuple[tuple[int, ...], ...] | None
    if closed:
        voted, totals = len(run.participants), run.totals
    else:  # kept by apply per vote: the same cost for any hall size
        tally = live_tally(run, motion.ballot_kind, motion.item_count)
        voted, totals = tally.voted, (None if motion.secret else tally.totals())
    if manual:
        voted, totals = 0, None
    elif closed and run.result is not None and run.result.manual is not None:
        voted = run.result.voted  # a manual round has no keypad participants
    data["round"] = {
        "motion_id": key[0],
        "round": key[1],
        "title": motion.title,
        "state": run.state.value,
        "secret": motion.secret,
        "ballot_kind": motion.ballot_kind,
        "item_count": motion.item_count,
        "deadline": run.deadline,
        "voted": voted,
        "not_pressed": 0 if manual else max((run.present if closed else sitting.present) - voted, 0),
        "totals": [list(row[1:]) for row in totals] if totals is not None else None,
        "purge_pending": key in purge_pending,
        "result": _result_json(run.result) if run.result is not None else None,
    }
    return data


def _recent(run: RoundRun) -> tuple[bool, float, RoundKey]:
    """Which round the picture shows when none is live: one awaiting manual counts, else the latest."""
    manual_at = run.manual.at if run.manual is not None else 0.0
    return (run.state is RoundState.MANUAL, run.opened_at or manual_at or run.closed_at or 0.0, run.key)


def _result_json(result: Any) -> dict[str, Any]:
    manual = result.manual
    return {
        "manual": manual is not None,
        "manual_method": manual.method if manual is not None else None,
        "outcome": result.outcome,
        "expected": result.expected,
        "present": result.present,
        "voted": result.voted,
        "not_pressed": result.not_pressed,
        "rule_zh": result.rule_zh,
        "rule_en": result.rule_en,
        "audit_head": f"{result.audit_seq}:{result.audit_head}" if result.audit_head else None,
        "note_zh": result.note_zh,
        "note_en": result.note_en,
        "items": [
            {
                "index": i.index,
                "counts": list(i.counts),
                "outcome": i.outcome,
                "label_zh": i.label_zh,
                "label_en": i.label_en,
            }
            for i in result.items
        ],
    }
