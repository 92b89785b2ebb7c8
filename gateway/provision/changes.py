"""Keypad record changes (register, bind, unbind, revoke, swap), each with its own audit event.

The one place that changes which keypad speaks for which seat, for the CLI
(``hallvote provision``, ``hallvote device swap``) and the API alike:

* a change and its audit events commit in **one transaction** (crud's
  commits are savepoints inside it); a refusal leaves nothing behind;
* every event names the ``device``, the ``seat`` (label, or null), the
  ``member`` assigned to that seat in the hall's live or latest open
  sitting (id, or null) and the ``key_fingerprint`` (SHA-256 of the public
  key): ``device.registered``, ``device.bound``, ``device.unbound``,
  ``device.revoked``, and for a swap ``device.revoked`` + ``device.bound``
  + ``device.swapped`` (which also carries both fingerprints);
* while a sitting is live (check-in open or in session) a seat of its seat
  map changes keypads only by the swap: binding or unbinding is refused
  (``SEAT_IN_SITTING``, see :func:`gateway.db.crud.bind_device`); revoking
  stays possible (a stolen keypad must be stoppable at once).

The audit events are appended first in the transaction: on SQLite that
takes the write lock before anything is read (see gateway.audit.log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from gateway.audit import AuditLog, Event
from gateway.db import crud
from gateway.db.models import Device, DeviceCreate, SeatAssignment, Sitting
from gateway.db.models import Seat as SeatRow
from protocol import consts

__all__ = [
    "Swap",
    "bind",
    "fingerprint",
    "member_at",
    "register",
    "revoke",
    "swap",
    "transaction",
]


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the 65-byte public key, lower-case hex (the audit log's key_fingerprint)."""
    return hashlib.sha256(public_key).hexdigest()


@contextmanager
def transaction(engine: Engine) -> Iterator[tuple[Connection, Session]]:
    """One database transaction; crud's commits inside it are savepoints."""
    with (
        engine.connect() as conn,
        conn.begin(),
        Session(bind=conn, join_transaction_mode="create_savepoint") as session,
    ):
        yield conn, session


def member_at(session: Session, hall_id: str, seat_id: int | None) -> int | None:
    """The member assigned to the seat in the hall's latest sitting that is not closed."""
    if seat_id is None:
        return None
    sitting = session.exec(
        select(Sitting)
        .where(Sitting.hall_id == hall_id, Sitting.state != consts.SITTING_CLOSED)
        .order_by(col(Sitting.id).desc())
    ).first()
    if sitting is None:
        return None
    assignment = session.exec(
        select(SeatAssignment).where(
            SeatAssignment.sitting_id == sitting.id, SeatAssignment.seat_id == seat_id
        )
    ).first()
    return assignment.member_id if assignment is not None else None


def _label(session: Session, seat_id: int | None) -> str | None:
    if seat_id is None:
        return None
    seat = session.get(SeatRow, seat_id)
    return seat.label if seat is not None else str(seat_id)


def _about(session: Session, device: Device, seat_id: int | None) -> dict[str, Any]:
    return {
        "device": device.device_id,
        "seat": _label(session, seat_id),
        "member": member_at(session, device.hall_id, seat_id),
        "key_fingerprint": fingerprint(bytes(device.public_key)),
    }


def _append(engine: Engine, conn: Connection, events: list[Event]) -> None:
    AuditLog(engine).append_many(events, conn=conn)


def register(engine: Engine, *, hall_id: str, device_in: DeviceCreate, actor: str) -> Device:
    """Register a keypad (no seat yet); audited ``device.registered``."""
    with transaction(engine) as (conn, session):
        key = bytes(device_in.public_key)
        payload = {
            "device": device_in.device_id,
            "seat": None,
            "member": None,
            "key_fingerprint": fingerprint(key),
        }
        _append(engine, conn, [Event("device.registered", actor, payload)])
        device = crud.register_device(session=session, hall_id=hall_id, device_in=device_in)
        session.expunge(device)
        return device


def bind(engine: Engine, *, device_id: str, seat_id: int | None, actor: str) -> Device:
    """Bind a keypad to a seat (None: unbind); audited ``device.bound`` / ``device.unbound``.

    Binding it where it is already bound changes nothing and writes nothing.
    """
    with Session(engine) as session:
        current = crud.get(Device, device_id, session=session)
        if current.seat_id == seat_id and not current.revoked:
            session.expunge(current)
            return current
    with transaction(engine) as (conn, session):
        device = crud.get(Device, device_id, session=session)
        if seat_id is None:
            event = Event("device.unbound", actor, _about(session, device, device.seat_id))
        else:
            event = Event("device.bound", actor, _about(session, device, seat_id))
        _append(engine, conn, [event])
        device = crud.bind_device(session=session, device_id=device_id, seat_id=seat_id)
        session.expunge(device)
        return device


def revoke(engine: Engine, *, device_id: str, actor: str, reason: str) -> Device:
    """Revoke a keypad (lost, stolen, swapped); audited ``device.revoked``; revoking twice writes nothing."""
    with Session(engine) as session:
        current = crud.get(Device, device_id, session=session)
        if current.revoked:
            session.expunge(current)
            return current
    with transaction(engine) as (conn, session):
        device = crud.get(Device, device_id, session=session)
        _append(
            engine,
            conn,
            [Event("device.revoked", actor, {**_about(session, device, device.seat_id), "reason": reason})],
        )
        device = crud.revoke_device(session=session, device_id=device_id)
        session.expunge(device)
        return device


@dataclass(frozen=True)
class Swap:
    seat: str
    seat_id: int
    old: str
    new: str
    member: int | None


def swap(engine: Engine, *, seat_id: int, old: str, new: str, actor: str, reason: str) -> Swap:
    """Revoke ``old`` (bound to the seat), bind ``new`` (registered, unbound) to it; audited, atomic.

    The caller checks that ``old`` is the seat's active keypad and ``new`` a
    free one of the same hall; crud refuses the rest.
    """
    with transaction(engine) as (conn, session):
        old_row = crud.get(Device, old, session=session)
        new_row = crud.get(Device, new, session=session)
        about_old = _about(session, old_row, seat_id)
        about_new = _about(session, new_row, seat_id)
        events = [
            Event("device.revoked", actor, {**about_old, "reason": reason}),
            Event("device.bound", actor, about_new),
            Event(
                "device.swapped",
                actor,
                {
                    "seat": about_old["seat"],
                    "member": about_old["member"],
                    "from": old,
                    "to": new,
                    "from_key_fingerprint": about_old["key_fingerprint"],
                    "to_key_fingerprint": about_new["key_fingerprint"],
                },
            ),
        ]
        _append(engine, conn, events)
        crud.revoke_device(session=session, device_id=old)
        crud.bind_device(session=session, device_id=new, seat_id=seat_id, swap=True)
        return Swap(str(about_old["seat"]), seat_id, old, new, about_old["member"])
