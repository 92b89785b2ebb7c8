"""What of the core's events goes into the audit log, and how.

Written in the same transaction as the events themselves (the service's
audit hook), so the audit trail and the store never disagree.  For a secret
round no entry names a choice: votes are not audited while it is open, and
its close records only who took part (``vote.participation_secret``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.audit import AuditLog
from gateway.core.events import (
    CheckInRecorded,
    Event,
    ResultComputed,
    RoundClosed,
    RoundOpened,
    RoundStateChanged,
    SittingStateChanged,
    VoteRecorded,
)
from gateway.core.state import HallState
from gateway.core.states import RoundState, SittingState
from protocol import consts

__all__ = ["audit_entries", "make_hook"]

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
        elif isinstance(e, ResultComputed):
            r = e.result
            names = _GRADE_NAMES if r.ballot_kind == consts.RATING else _CHOICE_NAMES
            totals = {
                f"{item.index + 1}:{names[code]}": n
                for item in r.items
                for code, n in enumerate(item.counts, start=1)
            }
            totals["not_pressed"] = r.not_pressed
            out.append(
                (
                    "result.frozen",
                    {
                        "motion": e.round[0],
                        "round": e.round[1],
                        "rule": f"{r.rule_zh} / {r.rule_en}",
                        "totals": totals,
                        "outcome": str(r.outcome),
                    },
                )
            )
    return out


def make_hook(log: AuditLog) -> Any:
    """The service's audit hook: append the entries for ``events`` on the commit's connection."""

    def hook(conn: Any, state: HallState, events: Sequence[Event], actor: str) -> None:
        entries = audit_entries(state, events)
        if entries:
            log.append_many([(kind, actor, payload) for kind, payload in entries], conn=conn)

    return hook
