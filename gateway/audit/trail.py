"""What of the core's events goes into the audit log, and how.

Written in the same transaction as the events themselves (the service's
audit hook), so the audit trail and the store never disagree.  For a secret
round no entry names a choice: votes are not audited while it is open, and
its close records only who took part (``vote.participation_secret``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select

from gateway.audit import AuditLog
from gateway.audit.chain import Record
from gateway.audit.table import audit_table
from gateway.core.events import (
    CheckInRecorded,
    Event,
    ManualConfirmed,
    ManualEntered,
    ManualRejected,
    ResultComputed,
    RoundClosed,
    RoundOpened,
    RoundStateChanged,
    SittingStateChanged,
    VoteRecorded,
)
from gateway.core.results import RoundResult
from gateway.core.state import HallState, ManualEntry, RoundKey
from gateway.core.states import RoundState, SittingState
from protocol import consts

__all__ = ["attach_heads", "audit_entries", "frozen_heads", "make_hook", "manual_totals", "result_payload"]

Entry = tuple[str, dict[str, Any]]

_SITTING_KINDS = {
    SittingState.CHECKIN_OPEN: "sitting.checkin_opened",
    SittingState.IN_SESSION: "sitting.checkin_closed",
    SittingState.CLOSED: "sitting.closed",
}
_ROUND_KINDS = {
    RoundState.PAUSED: "round.paused",
    RoundState.OPEN: "round.resumed",
    RoundState.ANNOUNCED: "round.announced",
}
_CHOICE_NAMES = {consts.YES: "yes", consts.NO: "no", consts.ABSTAIN: "abstain"}
_GRADE_NAMES = {1: "excellent", 2: "satisfied", 3: "basically_satisfied", 4: "unsatisfied"}


def audit_entries(state: HallState, events: Sequence[Event]) -> list[Entry]:
    sitting = state.sitting
    out: list[Entry] = []
    for e in events:
        if isinstance(e, SittingStateChanged) and e.state in _SITTING_KINDS:
            out.append((_SITTING_KINDS[e.state], {"sitting": e.sitting_id}))
        elif isinstance(e, CheckInRecorded):
            out.append(
                (
                    "checkin.recorded",
                    {
                        "sitting": e.sitting_id,
                        "member": e.member_id,
                        "seat": e.seat,
                        "device": e.device_id,
                        "late": e.late,
                    },
                )
            )
        elif isinstance(e, RoundOpened) and sitting is not None:
            secret = sitting.motions[e.round[0]].secret
            out.append(
                (
                    "round.opened",
                    {
                        "sitting": sitting.sitting_id,
                        "motion": e.round[0],
                        "round": e.round[1],
                        "secret": secret,
                        "quorum_expected": e.expected,
                        "quorum_present": e.present,
                        "override": e.quorum_override,
                    },
                )
            )
        elif isinstance(e, RoundStateChanged) and e.state in _ROUND_KINDS:
            payload: dict[str, Any] = {"motion": e.round[0], "round": e.round[1]}
            if e.state is RoundState.PAUSED:
                payload["reason"] = ""
            out.append((_ROUND_KINDS[e.state], payload))
        elif isinstance(e, VoteRecorded) and not e.secret:
            out.append(
                (
                    "vote.recorded_named",
                    {
                        "motion": e.round[0],
                        "round": e.round[1],
                        "member": e.ballot.member_id,
                        "seat": e.ballot.seat,
                        "choices": list(e.ballot.choices),
                    },
                )
            )
        elif isinstance(e, RoundClosed):
            out.append(("round.closed", {"motion": e.round[0], "round": e.round[1]}))
            if e.secret:
                out.extend(
                    (
                        "vote.participation_secret",
                        {"motion": e.round[0], "round": e.round[1], "member": member},
                    )
                    for member in sorted(e.participants)
                )
        elif isinstance(e, ManualEntered):
            m = e.entry
            out.append(
                (
                    "manual.entered",
                    {
                        "motion": e.round[0],
                        "round": e.round[1],
                        "method": m.method,
                        "reason": m.reason,
                        "totals": manual_totals(e.round, m, sitting),
                        "expected": m.expected,
                        "present": m.present,
                        "entered_by": m.entered_by,
                        "entered_role": m.entered_role,
                    },
                )
            )
        elif isinstance(e, ManualRejected):
            out.append(
                (
                    "manual.rejected",
                    {
                        "motion": e.round[0],
                        "round": e.round[1],
                        "entered_by": e.entered_by,
                        "rejected_by": e.by,
                        "reason": e.reason,
                    },
                )
            )
        elif isinstance(e, ManualConfirmed):
            m = e.entry
            out.append(
                (
                    "manual.confirmed",
                    {
                        "motion": e.round[0],
                        "round": e.round[1],
                        "method": m.method,
                        "reason": m.reason,
                        "totals": manual_totals(e.round, m, sitting),
                        "entered_by": m.entered_by,
                        "confirmed_by": e.by,
                    },
                )
            )
        elif isinstance(e, ResultComputed):
            r = e.result
            names = _GRADE_NAMES if r.ballot_kind == consts.RATING else _CHOICE_NAMES
            totals = {
                f"{item.index + 1}:{names[code]}": n
                for item in r.items
                for code, n in enumerate(item.counts, start=1)
            }
            totals["not_pressed"] = r.not_pressed
            out.append(("result.frozen", result_payload(e.round, r, totals)))
    return out


def manual_totals(key: RoundKey, entry: ManualEntry, sitting: Any) -> dict[str, int]:
    """A manual entry's counts labelled like a frozen result's totals (``1:yes`` ..., ``not_pressed``)."""
    kind = sitting.motions[key[0]].ballot_kind if sitting is not None else consts.YES_NO_ABSTAIN
    names = _GRADE_NAMES if kind == consts.RATING else _CHOICE_NAMES
    totals = {
        f"{i + 1}:{names[code]}": n
        for i, row in enumerate(entry.counts)
        for code, n in enumerate(row, start=1)
    }
    totals["not_pressed"] = max(entry.present - entry.voted, 0)
    return totals


def result_payload(key: RoundKey, r: RoundResult, totals: dict[str, int]) -> dict[str, Any]:
    """The whole frozen result, so that ``hallvote audit verify`` can check every stored one against it."""
    return {
        "motion": key[0],
        "round": key[1],
        "rule": f"{r.rule_zh} / {r.rule_en}",
        "totals": totals,
        "outcome": str(r.outcome),
        "ballot_kind": r.ballot_kind,
        "expected": r.expected,
        "present": r.present,
        "voted": r.voted,
        "item_outcomes": {str(item.index + 1): item.outcome for item in r.items},
    }


def make_hook(log: AuditLog) -> Any:
    """The service's audit hook: append the entries for ``events`` on the commit's connection.

    Returns the records written, so the caller can publish the head that
    froze a result (:func:`attach_heads`).
    """

    def hook(conn: Any, state: HallState, events: Sequence[Event], actor: str) -> list[Record]:
        entries = audit_entries(state, events)
        if not entries:
            return []
        return log.append_many([(kind, actor, payload) for kind, payload in entries], conn=conn)

    return hook


def attach_heads(state: HallState, records: Sequence[Record]) -> None:
    """Give each result frozen by ``records`` its audit record's seq and hash (in ``state``)."""
    sitting = state.sitting
    if sitting is None:
        return
    for rec in records:
        if rec.kind != "result.frozen":
            continue
        payload = json.loads(rec.payload)
        run = sitting.rounds.get((payload["motion"], payload["round"]))
        if run is not None and run.result is not None:
            run.result = replace(run.result, audit_seq=rec.seq, audit_head=rec.hash)


def frozen_heads(conn: Connection) -> dict[RoundKey, tuple[int, str]]:
    """(motion, round) -> (seq, hash) of the ``result.frozen`` records in the log (the latest per round)."""
    table = audit_table()
    heads: dict[RoundKey, tuple[int, str]] = {}
    query = select(table.c.seq, table.c.hash, table.c.payload).where(table.c.kind == "result.frozen")
    for seq, digest, payload in conn.execute(query.order_by(table.c.seq)):
        data = json.loads(payload)
        heads[(data["motion"], data["round"])] = (seq, digest)
    return heads
