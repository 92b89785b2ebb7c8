"""Store functions for setting a hall up: bodies, members, halls, seats, devices, sittings, motions.

In the style of the FastAPI full-stack template: keyword-only arguments,
a Session passed in, a ``*Create`` model in, the table row out; each
function commits.  Refusals raise :class:`NotFound` or :class:`Conflict`
(messages Chinese first, then English), which the API maps to 404 / 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from protocol import consts

from .models import (
    Body,
    BodyCreate,
    Device,
    DeviceCreate,
    Hall,
    HallCreate,
    Member,
    MemberCreate,
    Motion,
    MotionCreate,
    Seat,
    SeatAssignment,
    SeatAssignmentCreate,
    SeatCreate,
    Sitting,
    SittingCreate,
)
from .types import utcnow

__all__ = [
    "LIVE_STATES",
    "Conflict",
    "NotFound",
    "RosterFrozen",
    "SeatInSitting",
    "StoreError",
    "assign_seats",
    "bind_device",
    "create_body",
    "create_hall",
    "create_member",
    "create_motion",
    "create_seat",
    "create_sitting",
    "get",
    "list_bodies",
    "list_devices",
    "list_halls",
    "list_members",
    "list_seat_assignments",
    "list_seats",
    "live_sitting_of_body",
    "live_sittings_with_seat",
    "register_device",
    "revoke_device",
    "roster_open",
]

T = TypeVar("T", bound=SQLModel)


class StoreError(ValueError):
    """A refused store operation; ``str()`` is "中文 / English"; ``code`` is stable."""

    code = "STORE"


class NotFound(StoreError):
    code = "NOT_FOUND"


class Conflict(StoreError):
    code = "CONFLICT"


class SeatInSitting(Conflict):
    """A seat of a live sitting's seat map changes keypads only by a swap."""

    code = "SEAT_IN_SITTING"


class RosterFrozen(Conflict):
    """The roster (and the seat map) of a body is fixed from check-in open until the sitting closes."""

    code = "ROSTER_FROZEN"


#: Sitting states in which the roster, the seat map and the seats' keypads are frozen.
LIVE_STATES = (consts.SITTING_CHECKIN_OPEN, consts.SITTING_IN_SESSION)


def live_sitting_of_body(session: Session, body_id: int) -> Sitting | None:
    """The body's sitting with check-in open or in session, if any."""
    query = select(Sitting).where(Sitting.body_id == body_id, col(Sitting.state).in_(LIVE_STATES))
    return session.exec(query.order_by(col(Sitting.id))).first()


def live_sittings_with_seat(session: Session, seat_id: int) -> list[Sitting]:
    """Live sittings (check-in open or in session) whose seat map has this seat."""
    query = (
        select(Sitting)
        .join(SeatAssignment, col(SeatAssignment.sitting_id) == col(Sitting.id))
        .where(SeatAssignment.seat_id == seat_id, col(Sitting.state).in_(LIVE_STATES))
    )
    return list(session.exec(query))


def roster_open(session: Session, body_id: int) -> None:
    """Refuse (RosterFrozen) while the body has a live sitting: 应到 is fixed from check-in open."""
    sitting = live_sitting_of_body(session, body_id)
    if sitting is not None:
        raise RosterFrozen(
            f"会议 {sitting.id} 进行中（签到开始至闭会），名单不可更改 / "
            f"sitting {sitting.id} is live (from check-in open until it closes): the roster is frozen"
        )


def _seat_not_live(session: Session, seat_id: int, what: str) -> None:
    live = live_sittings_with_seat(session, seat_id)
    if live:
        seat = session.get(Seat, seat_id)
        label = seat.label if seat is not None else str(seat_id)
        raise SeatInSitting(
            f"座位 {label} 属于进行中的会议 {live[0].id}，会议期间只能用 hallvote device swap 更换表决器 / "
            f"seat {label} belongs to live sitting {live[0].id}: during a sitting its keypad changes only "
            f"by a swap (hallvote device swap), not by {what}"
        )


_NAMES = {
    Body: ("机构", "body"),
    Member: ("代表", "member"),
    Hall: ("会场", "hall"),
    Seat: ("座位", "seat"),
    Device: ("表决器", "device"),
    Sitting: ("会议", "sitting"),
    Motion: ("议题", "motion"),
}


def get(model: type[T], key: Any, *, session: Session) -> T:
    """The row of ``model`` with primary key ``key``, or NotFound."""
    row = session.get(model, key)
    if row is None:
        zh, en = _NAMES.get(model, ("记录", model.__name__))
        raise NotFound(f"{zh}不存在: {key} / no such {en}: {key}")
    return row


def _commit(session: Session, *rows: SQLModel, what: str) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"与已有数据冲突 / conflicts with existing data ({what}): {exc.orig}") from exc
    for row in rows:
        session.refresh(row)


# --- bodies and members -----------------------------------------------------


def create_body(*, session: Session, body_in: BodyCreate) -> Body:
    body = Body.model_validate(body_in)
    session.add(body)
    _commit(session, body, what="body name must be unique")
    return body


def list_bodies(*, session: Session) -> list[Body]:
    return list(session.exec(select(Body).order_by(col(Body.id))))


def create_member(*, session: Session, body_id: int, member_in: MemberCreate) -> Member:
    get(Body, body_id, session=session)
    roster_open(session, body_id)
    member = Member.model_validate(member_in, update={"body_id": body_id})
    session.add(member)
    _commit(session, member, what="card UID must be unique within the body")
    return member


def list_members(*, session: Session, body_id: int, active_only: bool = False) -> list[Member]:
    query = select(Member).where(Member.body_id == body_id)
    if active_only:
        query = query.where(col(Member.active).is_(True))
    return list(session.exec(query.order_by(col(Member.id))))


# --- halls and seats --------------------------------------------------------


def create_hall(*, session: Session, hall_in: HallCreate) -> Hall:
    if session.get(Hall, hall_in.id) is not None:
        raise Conflict(f"会场已存在: {hall_in.id} / hall exists: {hall_in.id}")
    hall = Hall.model_validate(hall_in)
    session.add(hall)
    _commit(session, hall, what="hall id must be unique")
    return hall


def list_halls(*, session: Session) -> list[Hall]:
    return list(session.exec(select(Hall).order_by(col(Hall.id))))


def create_seat(*, session: Session, hall_id: str, seat_in: SeatCreate) -> Seat:
    get(Hall, hall_id, session=session)
    seat = Seat.model_validate(seat_in, update={"hall_id": hall_id})
    session.add(seat)
    _commit(session, seat, what="seat label and position must be unique in the hall")
    return seat


def list_seats(*, session: Session, hall_id: str) -> list[Seat]:
    query = select(Seat).where(Seat.hall_id == hall_id).order_by(col(Seat.row), col(Seat.col))
    return list(session.exec(query))


# --- devices ----------------------------------------------------------------


def register_device(*, session: Session, hall_id: str, device_in: DeviceCreate) -> Device:
    """Register a keypad with its public key (checked on P-256 by DeviceCreate)."""
    get(Hall, hall_id, session=session)
    if session.get(Device, device_in.device_id) is not None:
        raise Conflict(
            f"表决器已登记: {device_in.device_id} / device already registered: {device_in.device_id}"
        )
    device = Device.model_validate(device_in, update={"hall_id": hall_id})
    session.add(device)
    _commit(session, device, what="broker username must be unique")
    return device


def list_devices(*, session: Session, hall_id: str | None = None) -> list[Device]:
    query = select(Device)
    if hall_id is not None:
        query = query.where(Device.hall_id == hall_id)
    return list(session.exec(query.order_by(col(Device.device_id))))


def bind_device(*, session: Session, device_id: str, seat_id: int | None, swap: bool = False) -> Device:
    """Bind a keypad to a seat of its hall (``seat_id=None`` unbinds it).

    A revoked device cannot be bound; a seat takes one device that is not
    revoked (also enforced by a partial unique index).  While a sitting is
    live, neither the seat nor the keypad's current seat may belong to its
    seat map (SeatInSitting), unless this is the swap (``swap=True``).
    """
    device = get(Device, device_id, session=session)
    if device.revoked:
        raise Conflict(f"表决器已停用: {device_id} / device is revoked: {device_id}")
    if not swap and device.seat_id != seat_id:
        for affected in (device.seat_id, seat_id):
            if affected is not None:
                _seat_not_live(session, affected, "unbinding" if seat_id is None else "binding")
    if seat_id is not None:
        seat = get(Seat, seat_id, session=session)
        if seat.hall_id != device.hall_id:
            raise Conflict(
                f"座位 {seat.label} 不在表决器所属会场 / seat {seat.label} is not in the device's hall"
            )
        other = session.exec(
            select(Device).where(
                Device.seat_id == seat_id, col(Device.revoked).is_(False), Device.device_id != device_id
            )
        ).first()
        if other is not None:
            raise Conflict(
                f"座位 {seat.label} 已绑定表决器 {other.device_id} / "
                f"seat {seat.label} is bound to device {other.device_id}"
            )
    device.seat_id = seat_id
    session.add(device)
    _commit(session, device, what="a seat has one active device")
    return device


def revoke_device(*, session: Session, device_id: str, at: dt.datetime | None = None) -> Device:
    """Revoke a keypad (lost, swapped, compromised); it keeps its seat for the record."""
    device = get(Device, device_id, session=session)
    if not device.revoked:
        device.revoked = True
        device.revoked_at = at or utcnow()
        device.online = False
        session.add(device)
        _commit(session, device, what="revoke")
    return device


# --- sittings, seat maps, motions -------------------------------------------


def create_sitting(*, session: Session, sitting_in: SittingCreate) -> Sitting:
    get(Body, sitting_in.body_id, session=session)
    get(Hall, sitting_in.hall_id, session=session)
    sitting = Sitting.model_validate(sitting_in)
    session.add(sitting)
    _commit(session, sitting, what="sitting")
    return sitting


def _open_sitting(session: Session, sitting_id: int) -> Sitting:
    sitting = get(Sitting, sitting_id, session=session)
    if sitting.state == consts.SITTING_CLOSED:
        raise Conflict(f"会议已结束: {sitting_id} / sitting is closed: {sitting_id}")
    return sitting


def assign_seats(
    *, session: Session, sitting_id: int, assignments: Sequence[SeatAssignmentCreate]
) -> list[SeatAssignment]:
    """Add seat assignments to a sitting's seat map, all or none.

    Each seat must be in the sitting's hall, each member an active member of
    its body; no seat and no member may be assigned twice.
    """
    sitting = _open_sitting(session, sitting_id)
    if sitting.state in LIVE_STATES:
        raise RosterFrozen(
            f"会议 {sitting_id} 进行中，座位安排不可更改 / sitting {sitting_id} is live: its seat map is frozen"
        )
    seats = {s.id: s for s in session.exec(select(Seat).where(Seat.hall_id == sitting.hall_id))}
    members = {
        m.id: m
        for m in session.exec(
            select(Member).where(Member.body_id == sitting.body_id, col(Member.active).is_(True))
        )
    }
    taken = list(session.exec(select(SeatAssignment).where(SeatAssignment.sitting_id == sitting_id)))
    seats_taken = {a.seat_id for a in taken}
    members_taken = {a.member_id for a in taken}
    rows = []
    for a in assignments:
        if a.seat_id not in seats:
            raise NotFound(f"座位不在本会场: {a.seat_id} / seat not in the sitting's hall: {a.seat_id}")
        if a.member_id not in members:
            raise NotFound(
                f"不是本机构的在任代表: {a.member_id} / not an active member of the body: {a.member_id}"
            )
        if a.seat_id in seats_taken:
            raise Conflict(
                f"座位已安排: {seats[a.seat_id].label} / seat already assigned: {seats[a.seat_id].label}"
            )
        if a.member_id in members_taken:
            raise Conflict(f"代表已有座位: {a.member_id} / member already has a seat: {a.member_id}")
        seats_taken.add(a.seat_id)
        members_taken.add(a.member_id)
        rows.append(SeatAssignment.model_validate(a, update={"sitting_id": sitting_id}))
    session.add_all(rows)
    _commit(session, *rows, what="one seat per member and one member per seat")
    return rows


def list_seat_assignments(*, session: Session, sitting_id: int) -> list[SeatAssignment]:
    query = select(SeatAssignment).where(SeatAssignment.sitting_id == sitting_id)
    return list(session.exec(query.order_by(col(SeatAssignment.id))))


def create_motion(*, session: Session, sitting_id: int, motion_in: MotionCreate) -> Motion:
    _open_sitting(session, sitting_id)
    motion = Motion.model_validate(motion_in, update={"sitting_id": sitting_id})
    session.add(motion)
    _commit(session, motion, what="motion")
    return motion
