"""The hall's records of keypads: checks, register + bind, swap, health; each change audited.

Provisioning writes the gateway database directly (``database_url`` of
``hall.toml``) through :mod:`gateway.db.crud`, not through the API:

* a keypad is often provisioned before the gateway runs at all (setting the
  hall up the day before), and the database is the system of record;
* a change and its audit records commit in **one transaction**: the crud
  functions run in a Session joined to an outer connection transaction
  (``join_transaction_mode="create_savepoint"``: their commits release
  savepoints), and the audit events (``device.registered``,
  ``device.bound``; for a swap ``device.revoked``, ``device.bound``,
  ``device.swapped``) join the same transaction.  A refusal anywhere
  leaves nothing behind: no keypad registered but unbound, no seat with
  two keypads or none, no audit record of what did not happen.  (The API's
  device routes audit only ``api.call``.)

A running gateway keeps its keypads in memory: after the commit the CLI
makes it reload through its API (:mod:`gateway.provision.gateway_api`).

The audit events are appended first in the transaction: on SQLite that
takes the write lock before anything is read (see gateway.audit.log).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from gateway.audit import AuditLog, Event
from gateway.db import crud
from gateway.db.models import (
    Attendance,
    Device,
    DeviceCreate,
    Member,
    SeatAssignment,
    Sitting,
)
from gateway.db.models import Seat as SeatRow
from protocol import consts

from . import changes
from .errors import (
    DeviceBusy,
    DeviceRevoked,
    KeyMismatch,
    NoDeviceAtSeat,
    ProvisionError,
    SeatTaken,
    UnknownDevice,
    UnknownSeat,
)

__all__ = [
    "HealthRow",
    "SeatState",
    "StoreRefused",
    "Swapped",
    "check_device",
    "fingerprint",
    "health",
    "register_and_bind",
    "seat_state",
    "short_fingerprint",
    "swap",
]


class StoreRefused(ProvisionError):
    """The store refused a change (a race with another technician, a constraint)."""

    code = "STORE"
    exit_code = 5

    def __init__(self, exc: crud.StoreError) -> None:
        zh, _, en = str(exc).partition(" / ")
        super().__init__(zh, en or zh)


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the 65-byte public key, lower-case hex (the audit log's key_fingerprint)."""
    return hashlib.sha256(public_key).hexdigest()


def short_fingerprint(public_key: bytes) -> str:
    """The first 64 bits of the fingerprint in groups of four, for a label: ``3f2a-9c1e-77d0-b4a8``."""
    fp = fingerprint(public_key)[:16]
    return "-".join(fp[i : i + 4] for i in range(0, 16, 4))


@contextmanager
def _transaction(engine: Engine) -> Iterator[tuple[Connection, Session]]:
    """One database transaction; crud's commits inside it are savepoints."""
    with (
        engine.connect() as conn,
        conn.begin(),
        Session(bind=conn, join_transaction_mode="create_savepoint") as session,
    ):
        try:
            yield conn, session
        except crud.StoreError as exc:
            raise StoreRefused(exc) from None


@dataclass(frozen=True)
class SeatState:
    seat_id: int
    label: str
    device: str | None  # the active (not revoked) keypad bound to it


def _seat(session: Session, hall_id: str, label: str) -> SeatRow:
    seat = session.exec(select(SeatRow).where(SeatRow.hall_id == hall_id, SeatRow.label == label)).first()
    if seat is None or seat.id is None:
        raise UnknownSeat(label, hall_id)
    return seat


def _active_at(session: Session, seat_id: int) -> Device | None:
    return session.exec(
        select(Device).where(Device.seat_id == seat_id, col(Device.revoked).is_(False))
    ).first()


def seat_state(engine: Engine, hall_id: str, label: str) -> SeatState:
    """The seat ``label`` of the hall and its active keypad, or UnknownSeat."""
    with Session(engine) as session:
        seat = _seat(session, hall_id, label)
        assert seat.id is not None
        active = _active_at(session, seat.id)
        return SeatState(seat.id, seat.label, active.device_id if active is not None else None)


def check_device(engine: Engine, device_id: str, public_key: bytes | None, *, rekey: bool = False) -> bool:
    """Whether ``device_id`` is registered; KeyMismatch / DeviceRevoked when it cannot take this key."""
    with Session(engine) as session:
        device = session.get(Device, device_id)
        if device is None:
            return False
        if device.revoked:
            raise DeviceRevoked(device_id)
        if rekey or (public_key is not None and bytes(device.public_key) != public_key):
            raise KeyMismatch(device_id)
        return True


def register_and_bind(
    engine: Engine,
    *,
    hall_id: str,
    device_id: str,
    public_key: bytes,
    firmware: str | None,
    seat_label: str | None,
    actor: str,
) -> tuple[bool, bool]:
    """Register the keypad (unless it is, with this key) and bind it to the seat; audited, atomic.

    ``seat_label`` None registers a spare (bound later by a swap).  Returns
    (registered now, bound now).  Refusals: UnknownSeat, SeatTaken,
    KeyMismatch, DeviceRevoked, StoreRefused.
    """
    registered = check_device(engine, device_id, public_key)
    state = seat_state(engine, hall_id, seat_label) if seat_label is not None else None
    if state is not None and state.device is not None and state.device != device_id:
        raise SeatTaken(state.label, state.device)
    bind = state is not None and state.device != device_id
    if registered and not bind:
        return False, False
    fp = fingerprint(public_key)
    with _transaction(engine) as (conn, session):
        events = []
        if not registered:
            events.append(
                Event(
                    "device.registered",
                    actor,
                    {"device": device_id, "seat": None, "member": None, "key_fingerprint": fp},
                )
            )
        if state is not None and bind:
            member = changes.member_at(session, hall_id, state.seat_id)
            events.append(
                Event(
                    "device.bound",
                    actor,
                    {"device": device_id, "seat": state.label, "member": member, "key_fingerprint": fp},
                )
            )
        AuditLog(engine).append_many(events, conn=conn)
        if not registered:
            crud.register_device(
                session=session,
                hall_id=hall_id,
                device_in=DeviceCreate.model_validate(
                    {"device_id": device_id, "public_key": public_key.hex(), "firmware_version": firmware}
                ),
            )
        if state is not None and bind:
            crud.bind_device(session=session, device_id=device_id, seat_id=state.seat_id)
    return not registered, bind


@dataclass(frozen=True)
class Swapped:
    seat: str
    seat_id: int
    old: str
    new: str
    member: str | None  # who sits there in the hall's current sitting
    checked_in: bool | None  # and whether they are checked in (None: no current sitting or member)


def _member_at(session: Session, hall_id: str, seat_id: int) -> tuple[str | None, bool | None]:
    sitting = session.exec(
        select(Sitting)
        .where(Sitting.hall_id == hall_id, Sitting.state != consts.SITTING_CLOSED)
        .order_by(col(Sitting.id).desc())
    ).first()
    if sitting is None:
        return None, None
    assignment = session.exec(
        select(SeatAssignment).where(
            SeatAssignment.sitting_id == sitting.id, SeatAssignment.seat_id == seat_id
        )
    ).first()
    if assignment is None:
        return None, None
    member = session.get(Member, assignment.member_id)
    present = session.get(Attendance, (sitting.id, assignment.member_id)) is not None
    return (member.name if member is not None else None), present


def swap(
    engine: Engine, *, hall_id: str, seat_label: str, new_device: str, actor: str, reason: str
) -> Swapped:
    """Replace the keypad at a seat by a registered one: revoke the old, bind the new; audited, atomic.

    The member's check-in is theirs, not the keypad's (attendance is keyed
    by sitting and member), so it carries over: the new keypad's presses
    count for the member at that seat as the old one's did.
    """
    state = seat_state(engine, hall_id, seat_label)
    if state.device is None:
        raise NoDeviceAtSeat(seat_label)
    with Session(engine) as session:
        new = session.get(Device, new_device)
        if new is None or new.hall_id != hall_id:
            raise UnknownDevice(new_device, hall_id)
        if new.revoked:
            raise DeviceRevoked(new_device)
        if new_device == state.device:
            raise SeatTaken(seat_label, new_device)
        if new.seat_id is not None:
            other = session.get(SeatRow, new.seat_id)
            raise DeviceBusy(new_device, other.label if other is not None else str(new.seat_id))
    try:
        changes.swap(
            engine, seat_id=state.seat_id, old=state.device, new=new_device, actor=actor, reason=reason
        )
    except crud.StoreError as exc:
        raise StoreRefused(exc) from None
    with Session(engine) as session:
        member, present = _member_at(session, hall_id, state.seat_id)
    return Swapped(seat_label, state.seat_id, state.device, new_device, member, present)


@dataclass(frozen=True)
class HealthRow:
    device_id: str
    seat: str | None
    online: bool
    battery: int | None
    rssi: int | None
    last_seen: dt.datetime | None
    firmware: str | None
    revoked: bool


def health(engine: Engine, hall_id: str, *, include_revoked: bool = False) -> Sequence[HealthRow]:
    """Every keypad of the hall with its health, by seat label (unbound ones last)."""
    with Session(engine) as session:
        labels = {s.id: s.label for s in crud.list_seats(session=session, hall_id=hall_id)}
        rows = [
            HealthRow(
                d.device_id,
                labels.get(d.seat_id) if d.seat_id is not None else None,
                d.online,
                d.battery,
                d.rssi,
                d.last_seen,
                d.firmware_version,
                d.revoked,
            )
            for d in crud.list_devices(session=session, hall_id=hall_id)
            if include_revoked or not d.revoked
        ]
    return sorted(rows, key=lambda r: (r.seat is None, r.seat or "", r.device_id))
