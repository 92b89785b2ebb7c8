"""Rebuilding the core's HallState from the database (at start, and after a failed commit)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, func, select

from gateway.audit.trail import frozen_heads
from gateway.core.results import compute_result, manual_result
from gateway.core.state import (
    REPLAY_WINDOW,
    Accepted,
    Attendance,
    Ballot,
    DeviceEntry,
    HallState,
    ManualEntry,
    ReplayWindow,
    RoundRun,
    SittingRun,
)
from gateway.core.states import LIVE_ROUND_STATES, RoundState, SittingState
from gateway.core.tally import count
from protocol import consts

from . import tables as t
from .convert import motion_spec, quorum_rule, to_ts
from .secretkeys import MissingRoundKey, RoundKeys

__all__ = ["load_hall", "load_sitting"]


def load_hall(conn: Connection, hall_id: str, keys: RoundKeys | None = None) -> HallState:
    state = HallState(hall_id)
    rows = conn.execute(
        select(t.device.c.device_id, t.device.c.public_key, t.device.c.revoked, t.seat.c.label)
        .select_from(t.device.outerjoin(t.seat, t.device.c.seat_id == t.seat.c.id))
        .where(t.device.c.hall_id == hall_id)
    )
    for device_id, public_key, revoked, label in rows:
        state.devices[device_id] = DeviceEntry(
            device_id, bytes(public_key), label if not revoked else None, revoked
        )
    _load_replay(conn, state)
    sitting_id = conn.execute(
        select(t.sitting.c.id)
        .where(t.sitting.c.hall_id == hall_id, t.sitting.c.state != int(SittingState.CLOSED))
        .order_by(t.sitting.c.id.desc())
        .limit(1)
    ).scalar()
    if sitting_id is not None:
        state.sitting = load_sitting(conn, sitting_id, keys)
    return state


def _load_replay(conn: Connection, state: HallState) -> None:
    highest = (
        select(t.accepted.c.device_id, func.max(t.accepted.c.counter).label("top"))
        .where(t.accepted.c.device_id.in_(list(state.devices)))
        .group_by(t.accepted.c.device_id)
        .subquery()
    )
    rows = conn.execute(
        select(t.accepted, t.seat.c.label, t.motion.c.secret)
        .join(highest, t.accepted.c.device_id == highest.c.device_id)
        .outerjoin(t.device, t.device.c.device_id == t.accepted.c.device_id)
        .outerjoin(t.seat, t.seat.c.id == t.device.c.seat_id)
        .outerjoin(
            t.motion, (t.motion.c.id == t.accepted.c.ref_id) & (t.accepted.c.frame_type == consts.VOTE)
        )
        .where(t.accepted.c.counter > highest.c.top - REPLAY_WINDOW)
        .order_by(t.accepted.c.device_id, t.accepted.c.counter)
    )
    for row in rows:
        window = state.replay.get(row.device_id)
        if window is None:
            window = state.replay[row.device_id] = ReplayWindow()
        digest = bytes(row.digest) if row.digest is not None else None
        seat = (row.label or "") if row.frame_type == consts.CHECK_IN else ""
        accepted = Accepted(row.counter, row.frame_type, digest, row.reason, row.ref_id, row.round, (), seat)
        window.record(accepted, secret=bool(row.secret))


def load_sitting(conn: Connection, sitting_id: int, keys: RoundKeys | None = None) -> SittingRun:
    """The sitting's run; sealed pending choices of an open secret round are opened with ``keys``."""
    s = conn.execute(select(t.sitting).where(t.sitting.c.id == sitting_id)).one()
    body = conn.execute(select(t.body).where(t.body.c.id == s.body_id)).one()
    roster = frozenset(
        conn.execute(select(t.member.c.id).where(t.member.c.body_id == body.id, t.member.c.active)).scalars()
    )
    seat_map = {
        label: member
        for label, member in conn.execute(
            select(t.seat.c.label, t.seat_assignment.c.member_id)
            .join(t.seat, t.seat.c.id == t.seat_assignment.c.seat_id)
            .where(t.seat_assignment.c.sitting_id == sitting_id)
        )
    }
    cards = {
        member_id: bytes.fromhex(card)
        for member_id, card in conn.execute(
            select(t.member.c.id, t.member.c.card_uid).where(
                t.member.c.body_id == body.id, t.member.c.card_uid.is_not(None)
            )
        )
    }
    run = SittingRun(
        sitting_id=sitting_id,
        nonce=bytes(s.nonce),
        quorum_rule=quorum_rule(body.quorum_numerator, body.quorum_denominator, body.quorum_strict),
        roster=roster,
        seat_map=seat_map,
        state=SittingState(s.state),
        late_checkin=s.late_checkin_allowed,
        quorum_override_allowed=body.quorum_override_allowed,
        cards=cards,
        readerless_checkin=body.readerless_checkin_allowed,
    )
    for a in conn.execute(
        select(t.attendance, t.seat.c.label)
        .outerjoin(t.seat, t.seat.c.id == t.attendance.c.seat_id)
        .where(t.attendance.c.sitting_id == sitting_id)
    ):
        run.attendance[a.member_id] = Attendance(
            a.member_id,
            a.label or "",
            a.device_id or "",
            a.counter or 0,
            to_ts(a.checked_in_at) or 0.0,
            a.late,
        )
    for row in conn.execute(select(t.motion).where(t.motion.c.sitting_id == sitting_id)):
        run.motions[row.id] = motion_spec(row)
    _load_rounds(conn, run, keys)
    return run


def _load_manual(conn: Connection, round_ids: list[int]) -> dict[tuple[int, str], tuple[ManualEntry, str]]:
    """(round id, status) -> (entry, who decided) for pending and confirmed manual entries."""
    out: dict[tuple[int, str], tuple[ManualEntry, str]] = {}
    query = select(t.manual).where(
        t.manual.c.round_id.in_(round_ids), t.manual.c.status.in_(("pending", "confirmed"))
    )
    for row in conn.execute(query.order_by(t.manual.c.id)):
        entry = ManualEntry(
            row.method,
            row.reason,
            tuple(tuple(r) for r in row.counts),
            row.expected,
            row.present,
            row.entered_by,
            row.entered_role,
            to_ts(row.entered_at) or 0.0,
        )
        out[(row.round_id, row.status)] = (entry, row.decided_by or "")
    return out


def _load_rounds(conn: Connection, sitting: SittingRun, keys: RoundKeys | None) -> None:
    if not sitting.motions:
        return
    rows = list(conn.execute(select(t.round_).where(t.round_.c.motion_id.in_(list(sitting.motions)))))
    by_id: dict[int, RoundRun] = {}
    for r in rows:
        run = RoundRun(
            motion_id=r.motion_id,
            number=r.number,
            nonce=bytes(r.nonce),
            state=RoundState(r.state),
            focus=r.focus,
            opened_at=to_ts(r.opened_at),
            deadline=to_ts(r.deadline),
            closed_at=to_ts(r.closed_at),
            quorum_override=r.quorum_override,
        )
        sitting.rounds[run.key] = run
        by_id[r.id] = run
        if run.state in LIVE_ROUND_STATES:
            sitting.current = run.key
    if not by_id:
        return
    seat_labels: dict[int, str] = {
        sid: label for sid, label in conn.execute(select(t.seat.c.id, t.seat.c.label))
    }
    for table in (t.named, t.pending):
        for b in conn.execute(select(table).where(table.c.round_id.in_(list(by_id)))):
            run = by_id[b.round_id]
            raw, item_counters = bytes(b.choices), b.item_counters
            sealed = b._mapping.get("sealed") if table is t.pending else None
            if sealed is not None:
                if keys is None:
                    raise MissingRoundKey(
                        f"无记名表决数据已加密，但未配置密钥目录 / round {run.key} is sealed and no key directory is set"
                    )
                raw, opened = keys.open(run.key, b.round_id, b.member_id, bytes(sealed))
                item_counters = list(opened)
            choices = tuple(raw)
            counters = tuple(item_counters) if item_counters else (b.counter,) * len(choices)
            seat = seat_labels.get(b.seat_id, "") if table is t.named else ""
            run.ballots[b.member_id] = Ballot(b.member_id, seat, b.device_id, choices, counters)
    results = {
        row.round_id: row
        for row in conn.execute(select(t.result).where(t.result.c.round_id.in_(list(by_id))))
    }
    secret_totals: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for row in conn.execute(select(t.secret_tally).where(t.secret_tally.c.round_id.in_(list(by_id)))):
        secret_totals[row.round_id][(row.item, row.choice)] = row._mapping["count"]
    participants: dict[int, set[int]] = defaultdict(set)
    for p in conn.execute(select(t.participation).where(t.participation.c.round_id.in_(list(by_id)))):
        participants[p.round_id].add(p.member_id)
    heads = frozen_heads(conn) if results else {}
    manual = _load_manual(conn, list(by_id))
    for round_id, run in by_id.items():
        entry = manual.get((round_id, "pending"))
        if run.state is RoundState.MANUAL:
            run.manual = entry[0] if entry else None
            keypad: Any = results.get(round_id)  # a closed keypad round's 应到 / 实到, frozen when it closed
            if keypad is not None:
                run.expected, run.present = keypad.expected, keypad.present
            continue
        if run.state not in (RoundState.CLOSED, RoundState.ANNOUNCED):
            continue
        motion = sitting.motions[run.motion_id]
        confirmed = manual.get((round_id, "confirmed"))
        if confirmed is not None and round_id in results:
            done, confirmed_by = confirmed
            run.totals = tuple((0, *row) for row in done.counts)
            run.participants = frozenset()
            run.expected, run.present = done.expected, done.present
            run.result = manual_result(motion, run, done, confirmed_by)
            if run.key in heads:
                seq, head = heads[run.key]
                run.result = replace(run.result, audit_seq=seq, audit_head=head)
            continue
        if motion.secret:
            width = consts.choice_max(motion.ballot_kind) + 1
            run.totals = tuple(
                tuple(secret_totals[round_id].get((i, c), 0) for c in range(width))
                for i in range(motion.item_count)
            )
            run.participants = frozenset(participants[round_id])
        else:
            voted = [b for b in run.ballots.values() if b.pressed]
            run.totals = count(voted, motion.ballot_kind, motion.item_count)
            run.participants = frozenset(b.member_id for b in voted)
        stored: Any = results.get(round_id)
        if stored is not None:
            run.expected, run.present = stored.expected, stored.present
            run.result = compute_result(motion, run)
            if run.key in heads:
                seq, head = heads[run.key]
                run.result = replace(run.result, audit_seq=seq, audit_head=head)
