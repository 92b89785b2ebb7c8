"""The live picture the console and the big screen show, computed from the committed hall state (pure)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from gateway.core.state import HallState, RoundKey
from gateway.core.states import RoundState
from gateway.core.tally import count

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
    have voted until it closes, then its totals and result.
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
        max(sitting.rounds, key=lambda k: (sitting.rounds[k].opened_at or 0, k))
        if sitting.rounds
        else None
    )
    if key is None:
        return data
    run = sitting.rounds[key]
    motion = sitting.motions[key[0]]
    closed = run.state in (RoundState.CLOSED, RoundState.ANNOUNCED)
    voted = len(run.participants) if closed else sum(1 for b in run.ballots.values() if b.pressed)
    totals = (
        run.totals
        if closed
        else (
            None
            if motion.secret
            else count(run.ballots.values(), motion.ballot_kind, motion.item_count)
        )
    )
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
        "not_pressed": max((run.present if closed else sitting.present) - voted, 0),
        "totals": [list(row[1:]) for row in totals] if totals is not None else None,
        "purge_pending": key in purge_pending,
        "result": _result_json(run.result) if run.result is not None else None,
    }
    return data


def _result_json(result: Any) -> dict[str, Any]:
    return {
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
