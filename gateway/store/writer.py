"""Writing events to the database: one transaction per batch, SQLAlchemy Core only.

Every event the core produced maps to a few statements; the caller runs
:func:`write` inside one transaction (``engine.begin()``) for a whole batch
of decisions (group commit), and acks nothing until it has committed.  The
rows a batch of keypad frames produces (accepted frames, check-ins, keypad
health, named and secret-pending ballots) go in one executemany per table, the ballots as an
upsert built once per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.core.events import (
    CheckInRecorded,
    DeviceHealth,
    Event,
    FrameAccepted,
    ManualConfirmed,
    ManualEntered,
    ManualRejected,
    MotionAdded,
    ResultComputed,
    RoundClosed,
    RoundCreated,
    RoundFocused,
    RoundOpened,
    RoundStateChanged,
    SittingStateChanged,
    VoteRecorded,
)
from gateway.core.state import RoundKey
from gateway.core.states import RoundState, SittingState
from protocol import consts

from . import tables as t
from .convert import from_ts
from .secretkeys import RoundKeys

__all__ = ["Writer"]


class Writer:
    """Maps events to statements for one hall; caches seat and round ids (stable once created)."""

    def __init__(self, hall_id: str, keys: RoundKeys | None = None) -> None:
        self.hall_id = hall_id
        self.keys = keys  # set: a secret round's pending choices are stored sealed (PostgreSQL)
        self._seats: dict[str, int] = {}
        self._rounds: dict[RoundKey, int] = {}

    def forget(self) -> None:
        self._seats.clear()
        self._rounds.clear()

    def seat_id(self, conn: Connection, label: str) -> int:
        if label not in self._seats:
            for seat_id, seat_label in conn.execute(
                select(t.seat.c.id, t.seat.c.label).where(t.seat.c.hall_id == self.hall_id)
            ):
                self._seats[seat_label] = seat_id
        return self._seats[label]

    def round_id(self, conn: Connection, key: RoundKey) -> int:
        if key not in self._rounds:
            rid = conn.execute(
                select(t.round_.c.id).where(t.round_.c.motion_id == key[0], t.round_.c.number == key[1])
            ).scalar_one()
            self._rounds[key] = rid
        return self._rounds[key]

    def write(self, conn: Connection, events: Sequence[Event]) -> None:
        """Write ``events`` in order; what a batch of keypad frames produces goes in a few statements.

        Accepted frames, check-ins, keypad health and votes are collected
        and written per table in one executemany each (a named or a secret
        round's pending ballot as one upsert per member, the last press of the
        batch winning) when a
        different event comes or at the end; every other event is written in
        its turn, after what was collected before it.
        """
        run = _Run()
        for event in events:
            if not run.take(self, conn, event):
                run.flush(conn)
                self._write_one(conn, event)
        run.flush(conn)

    def _write_one(self, conn: Connection, event: Event) -> None:
        """One event that is not batched (see :meth:`write`): the chair's commands."""
        if isinstance(event, SittingStateChanged):
            values: dict[str, Any] = {"state": int(event.state)}
            if event.state is SittingState.CHECKIN_OPEN:
                values["opened_at"] = from_ts(event.at)
            elif event.state is SittingState.CLOSED:
                values["closed_at"] = from_ts(event.at)
            conn.execute(update(t.sitting).where(t.sitting.c.id == event.sitting_id).values(**values))
        elif isinstance(event, MotionAdded):
            pass  # the motion row is created by the store before the command (it owns the id)
        elif isinstance(event, RoundCreated):
            rid = conn.execute(
                insert(t.round_)
                .values(
                    motion_id=event.round[0],
                    number=event.round[1],
                    nonce=event.nonce,
                    state=RoundState.READY.value,
                )
                .returning(t.round_.c.id)
            ).scalar_one()
            self._rounds[event.round] = rid
        elif isinstance(event, RoundOpened):
            conn.execute(
                update(t.round_)
                .where(t.round_.c.id == self.round_id(conn, event.round))
                .values(
                    state=RoundState.OPEN.value,
                    nonce=event.nonce,
                    opened_at=from_ts(event.at),
                    deadline=from_ts(event.deadline),
                    quorum_override=event.quorum_override,
                )
            )
        elif isinstance(event, RoundStateChanged):
            values = {"state": event.state.value}
            if event.state is RoundState.ANNOUNCED:
                values["announced_at"] = from_ts(event.at)
            conn.execute(
                update(t.round_).where(t.round_.c.id == self.round_id(conn, event.round)).values(**values)
            )
        elif isinstance(event, RoundFocused):
            conn.execute(
                update(t.round_)
                .where(t.round_.c.id == self.round_id(conn, event.round))
                .values(focus=event.focus)
            )
        elif isinstance(event, RoundClosed):
            self._close(conn, event)
        elif isinstance(event, (ManualEntered, ManualRejected, ManualConfirmed)):
            self._manual(conn, event)
        elif isinstance(event, ResultComputed):
            r = event.result
            conn.execute(
                insert(t.result).values(
                    round_id=self.round_id(conn, event.round),
                    counts=[list(item.counts) for item in r.items],
                    item_outcomes=[item.outcome for item in r.items],
                    expected=r.expected,
                    present=r.present,
                    not_pressed=r.not_pressed,
                    outcome=r.outcome,
                    rule_zh=r.rule_zh,
                    rule_en=r.rule_en,
                    frozen_at=from_ts(event.at),
                )
            )

    def _manual(self, conn: Connection, event: ManualEntered | ManualRejected | ManualConfirmed) -> None:
        """A manual entry's row; a confirmation closes the round and sets the keypad result aside."""
        rid = self.round_id(conn, event.round)
        pending = (t.manual.c.round_id == rid) & (t.manual.c.status == "pending")
        if isinstance(event, ManualEntered):
            e = event.entry
            conn.execute(update(t.manual).where(pending).values(status="replaced"))
            conn.execute(
                insert(t.manual).values(
                    round_id=rid,
                    status="pending",
                    method=e.method,
                    reason=e.reason,
                    counts=[list(row) for row in e.counts],
                    expected=e.expected,
                    present=e.present,
                    entered_by=e.entered_by,
                    entered_role=e.entered_role,
                    entered_at=from_ts(e.at),
                )
            )
            conn.execute(update(t.round_).where(t.round_.c.id == rid).values(state=RoundState.MANUAL.value))
        elif isinstance(event, ManualRejected):
            conn.execute(
                update(t.manual)
                .where(pending)
                .values(
                    status="rejected",
                    decided_by=event.by,
                    decided_at=from_ts(event.at),
                    decision_reason=event.reason,
                )
            )
        else:
            conn.execute(
                update(t.manual)
                .where(pending)
                .values(status="confirmed", decided_by=event.by, decided_at=from_ts(event.at))
            )
            conn.execute(
                update(t.round_)
                .where(t.round_.c.id == rid)
                .values(state=RoundState.CLOSED.value, closed_at=from_ts(event.at))
            )
            conn.execute(delete(t.result).where(t.result.c.round_id == rid))  # the manual result replaces it

    def named_row(self, conn: Connection, event: VoteRecorded) -> dict[str, Any]:
        b = event.ballot
        return {
            "round_id": self.round_id(conn, event.round),
            "member_id": b.member_id,
            "seat_id": self.seat_id(conn, b.seat),
            "device_id": b.device_id,
            "counter": event.counter,
            "choices": bytes(b.choices),
            "item_counters": list(b.item_counters),
        }

    def pending_row(self, conn: Connection, event: VoteRecorded) -> dict[str, Any]:
        """A secret ballot's transient row: no seat; with round keys its choices are sealed."""
        rid = self.round_id(conn, event.round)
        b = event.ballot
        choices = bytes(b.choices)
        row: dict[str, Any] = {
            "round_id": rid,
            "member_id": b.member_id,
            "device_id": b.device_id,
            "counter": event.counter,
            "choices": choices,
            "item_counters": list(b.item_counters),
            "sealed": None,
        }
        if self.keys is not None:
            row["sealed"] = self.keys.seal(event.round, rid, b.member_id, choices, tuple(b.item_counters))
            row["choices"] = bytes(len(choices))
            row["item_counters"] = None
        return row

    def _close(self, conn: Connection, event: RoundClosed) -> None:
        rid = self.round_id(conn, event.round)
        conn.execute(
            update(t.round_)
            .where(t.round_.c.id == rid)
            .values(state=RoundState.CLOSED.value, closed_at=from_ts(event.at))
        )
        if not event.secret:
            return
        # Secret: keep totals and participation only, inserted in member / item order, then erase the links.
        tallies = [
            {"round_id": rid, "item": i, "choice": code, "count": n}
            for i, row in enumerate(event.totals)
            for code, n in enumerate(row)
            if code and n
        ]
        if tallies:
            conn.execute(insert(t.secret_tally), tallies)
        if event.participants:
            conn.execute(
                insert(t.participation),
                [{"round_id": rid, "member_id": mid} for mid in sorted(event.participants)],
            )
        conn.execute(delete(t.pending).where(t.pending.c.round_id == rid))
        conn.execute(
            update(t.accepted)
            .where(
                t.accepted.c.frame_type == consts.VOTE,
                t.accepted.c.ref_id == event.round[0],
                t.accepted.c.round == event.round[1],
            )
            .values(digest=None)
        )


_INSERT_ACCEPTED = insert(t.accepted)
_INSERT_ATTENDANCE = insert(t.attendance)
_NAMED_SET = ("seat_id", "device_id", "counter", "choices", "item_counters")
_HEALTH = (
    update(t.device)
    .where(t.device.c.device_id == bindparam("b_device"))
    .values(
        last_seen=bindparam("b_seen"),
        battery=bindparam("b_battery"),
        rssi=bindparam("b_rssi"),
        free_heap=bindparam("b_heap"),
        firmware_version=bindparam("b_firmware"),
        online=True,
    )
)


def _named_upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (round_id, member_id) DO UPDATE for SQLite and PostgreSQL (built once)."""
    if dialect not in _UPSERTS:
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(t.named)
        _UPSERTS[dialect] = ins.on_conflict_do_update(
            index_elements=[t.named.c.round_id, t.named.c.member_id],
            set_={c: ins.excluded[c] for c in _NAMED_SET},
        )
    return _UPSERTS[dialect]


_UPSERTS: dict[str, Any] = {}

_PENDING_SET = ("device_id", "counter", "choices", "item_counters", "sealed")


def _pending_upsert(dialect: str) -> Any:
    """The secret round's transient ballot row, INSERT ... ON CONFLICT (round_id, member_id) DO UPDATE."""
    key = "pending:" + dialect
    if key not in _UPSERTS:
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(t.pending)
        _UPSERTS[key] = ins.on_conflict_do_update(
            index_elements=[t.pending.c.round_id, t.pending.c.member_id],
            set_={c: ins.excluded[c] for c in _PENDING_SET},
        )
    return _UPSERTS[key]


class _Run:
    """The rows of a run of keypad events, one list per table, written together."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.attendance: list[dict[str, Any]] = []
        self.health: list[dict[str, Any]] = []
        self.named: dict[tuple[int, int], dict[str, Any]] = {}  # (round id, member) -> last ballot
        self.pending: dict[tuple[int, int], dict[str, Any]] = {}  # the same, of a secret round

    def take(self, writer: Writer, conn: Connection, event: Event) -> bool:
        """Collect ``event`` if it is one of the batched kinds; False to have it written alone."""
        if isinstance(event, FrameAccepted):
            a = event.accepted
            self.accepted.append(
                {
                    "device_id": event.device_id,
                    "counter": a.counter,
                    "frame_type": a.frame_type,
                    "reason": a.reason,
                    "ref_id": a.ref_id,
                    "round": a.round,
                    "digest": a.digest,
                }
            )
        elif isinstance(event, VoteRecorded):
            if event.secret:
                row = writer.pending_row(conn, event)
                self.pending[(row["round_id"], row["member_id"])] = row
            else:
                row = writer.named_row(conn, event)
                self.named[(row["round_id"], row["member_id"])] = row
        elif isinstance(event, CheckInRecorded):
            self.attendance.append(
                {
                    "sitting_id": event.sitting_id,
                    "member_id": event.member_id,
                    "seat_id": writer.seat_id(conn, event.seat),
                    "device_id": event.device_id,
                    "counter": event.counter,
                    "checked_in_at": from_ts(event.at),
                    "late": event.late,
                }
            )
        elif isinstance(event, DeviceHealth):
            self.health.append(
                {
                    "b_device": event.device_id,
                    "b_seen": from_ts(event.at),
                    "b_battery": None if event.battery == 255 else event.battery,
                    "b_rssi": event.rssi,
                    "b_heap": event.free_heap,
                    "b_firmware": "%d.%d.%d" % event.firmware,
                }
            )
        else:
            return False
        return True

    def flush(self, conn: Connection) -> None:
        if self.accepted:
            conn.execute(_INSERT_ACCEPTED, self.accepted)
        if self.attendance:
            conn.execute(_INSERT_ATTENDANCE, self.attendance)
        if self.health:
            conn.execute(_HEALTH, self.health)
        if self.named:
            conn.execute(_named_upsert(conn.dialect.name), list(self.named.values()))
        if self.pending:
            conn.execute(_pending_upsert(conn.dialect.name), list(self.pending.values()))
        self.clear()
