"""The database itself refuses what must never be stored, whatever code writes to it."""

from __future__ import annotations

import datetime as dt

import pytest
from hvtest.databases import HallSetup, new_public_key
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, select

from gateway.db import crud
from gateway.db.models import (
    AcceptedFrame,
    AuditEvent,
    Device,
    DeviceCreate,
    Motion,
    MotionCreate,
    NamedBallot,
    Round,
    Seat,
    SeatAssignment,
)

RULE = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}


def _refused(session: Session, *rows: object) -> None:
    session.add_all(rows)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def _device(session: Session, hall_setup: HallSetup, device_id: str) -> Device:
    return crud.register_device(
        session=session,
        hall_id=hall_setup.hall.id,
        device_in=DeviceCreate(device_id=device_id, public_key=new_public_key()),
    )


def _round(session: Session, hall_setup: HallSetup, *, secret: bool) -> Round:
    assert hall_setup.sitting.id is not None
    motion = crud.create_motion(
        session=session,
        sitting_id=hall_setup.sitting.id,
        motion_in=MotionCreate(
            title="关于召开第二次会议的决定", ballot_kind=1, passing_rule=RULE, secret=secret
        ),
    )
    assert motion.id is not None
    rnd = Round(motion_id=motion.id, number=1)
    session.add(rnd)
    session.commit()
    session.refresh(rnd)
    return rnd


def test_duplicate_seat_label_refused(session: Session, hall_setup: HallSetup) -> None:
    _refused(session, Seat(hall_id=hall_setup.hall.id, label="A1", row=9, col=9))
    # The same label in another hall is fine.
    crud.create_hall(session=session, hall_in=crud.HallCreate(id="hall-2", name="二号会场"))
    session.add(Seat(hall_id="hall-2", label="A1", row=1, col=1))
    session.commit()


def test_two_seats_at_one_place_refused(session: Session, hall_setup: HallSetup) -> None:
    _refused(session, Seat(hall_id=hall_setup.hall.id, label="Z9", row=1, col=1))


def test_one_active_device_per_seat(session: Session, hall_setup: HallSetup) -> None:
    seat = hall_setup.seats[0]
    first, second = _device(session, hall_setup, "kp-001"), _device(session, hall_setup, "kp-002")
    crud.bind_device(session=session, device_id="kp-001", seat_id=seat.id)
    with pytest.raises(crud.Conflict):
        crud.bind_device(session=session, device_id="kp-002", seat_id=seat.id)
    # Bypassing the store function, the partial unique index refuses it.
    second.seat_id = seat.id
    _refused(session, second)
    # Once the first keypad is revoked (swapped), the seat takes the second; the first keeps its seat.
    crud.revoke_device(session=session, device_id="kp-001")
    crud.bind_device(session=session, device_id="kp-002", seat_id=seat.id)
    session.refresh(first)
    assert first.revoked and first.revoked_at is not None and first.seat_id == seat.id
    with pytest.raises(crud.Conflict):
        crud.bind_device(session=session, device_id="kp-001", seat_id=hall_setup.seats[1].id)


def test_a_device_has_one_seat(session: Session, hall_setup: HallSetup) -> None:
    # One seat column: binding elsewhere moves the keypad, it is never on two seats.
    _device(session, hall_setup, "kp-001")
    crud.bind_device(session=session, device_id="kp-001", seat_id=hall_setup.seats[0].id)
    crud.bind_device(session=session, device_id="kp-001", seat_id=hall_setup.seats[1].id)
    bound = session.exec(select(Device.seat_id).where(Device.device_id == "kp-001")).all()
    assert bound == [hall_setup.seats[1].id]


def test_device_public_key_and_revocation_checks(session: Session, hall_setup: HallSetup) -> None:
    _refused(
        session, Device(device_id="kp-bad", hall_id="hall-1", public_key=b"\x04" * 64, broker_username="x")
    )
    good = new_public_key()
    _refused(
        session,
        Device(device_id="kp-x", hall_id="hall-1", public_key=good, broker_username="kp-x", revoked=True),
    )


def test_device_seat_in_another_hall_refused(session: Session, hall_setup: HallSetup) -> None:
    crud.create_hall(session=session, hall_in=crud.HallCreate(id="hall-2", name="二号会场"))
    crud.register_device(
        session=session,
        hall_id="hall-2",
        device_in=DeviceCreate(device_id="kp-9", public_key=new_public_key()),
    )
    with pytest.raises(crud.Conflict):
        crud.bind_device(session=session, device_id="kp-9", seat_id=hall_setup.seats[0].id)


def test_seat_map_unique_both_ways(session: Session, hall_setup: HallSetup) -> None:
    assert hall_setup.sitting.id is not None
    sid = hall_setup.sitting.id
    s1, s2 = (s.id for s in hall_setup.seats[:2])
    m1, m2 = (m.id for m in hall_setup.members[:2])
    assert s1 and s2 and m1 and m2
    session.add(SeatAssignment(sitting_id=sid, seat_id=s1, member_id=m1))
    session.commit()
    _refused(session, SeatAssignment(sitting_id=sid, seat_id=s1, member_id=m2))
    _refused(session, SeatAssignment(sitting_id=sid, seat_id=s2, member_id=m1))


def test_one_named_ballot_per_round_and_member(session: Session, hall_setup: HallSetup) -> None:
    rnd = _round(session, hall_setup, secret=False)
    _device(session, hall_setup, "kp-001")
    assert rnd.id and hall_setup.members[0].id and hall_setup.seats[0].id
    ballot = {
        "round_id": rnd.id,
        "member_id": hall_setup.members[0].id,
        "seat_id": hall_setup.seats[0].id,
        "device_id": "kp-001",
    }
    session.add(NamedBallot(**ballot, counter=7, choices=bytes([1])))
    session.commit()
    _refused(session, NamedBallot(**ballot, counter=8, choices=bytes([2])))
    # The counter is a u32: values above 2**31 must fit.
    stored = session.exec(select(NamedBallot)).one()
    stored.counter = 0xFFFF_FFFF
    session.add(stored)
    session.commit()
    session.refresh(stored)
    assert stored.counter == 0xFFFF_FFFF and stored.choices == b"\x01"


def test_accepted_frame_key_is_device_and_counter(session: Session, hall_setup: HallSetup) -> None:
    _device(session, hall_setup, "kp-001")
    session.add(AcceptedFrame(device_id="kp-001", counter=0xFFFF_FFF0, frame_type=4, ref_id=1, round=1))
    session.commit()
    _refused(session, AcceptedFrame(device_id="kp-001", counter=0xFFFF_FFF0, frame_type=3))


def test_round_number_and_nonce(session: Session, hall_setup: HallSetup) -> None:
    rnd = _round(session, hall_setup, secret=True)
    assert len(rnd.nonce) == 8 and rnd.state == "ready"
    _refused(session, Round(motion_id=rnd.motion_id, number=1))
    _refused(session, Round(motion_id=rnd.motion_id, number=2, nonce=rnd.nonce))
    _refused(session, Round(motion_id=rnd.motion_id, number=3, state="running"))


def test_timestamps_are_utc_aware_and_naive_ones_refused(session: Session, hall_setup: HallSetup) -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    at = dt.datetime(2026, 3, 5, 9, 0, 0, 123456, tzinfo=beijing)
    event = AuditEvent(
        at=at, kind="sitting.open", actor="chair", payload="{}", prev_hash="0" * 64, hash="a" * 64
    )
    session.add(event)
    session.commit()
    session.expire_all()
    stored = session.exec(select(AuditEvent)).one()
    assert stored.at == at and stored.at.utcoffset() == dt.timedelta(0)
    assert stored.seq == 1
    session.add(AuditEvent(at=dt.datetime(2026, 3, 5), kind="x", actor="y", payload="{}", prev_hash="a" * 64, hash="b" * 64))  # fmt: skip
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()
    session.rollback()


def test_audit_hash_unique_and_seq_never_reused(session: Session, engine: Engine) -> None:
    def event(h: str) -> AuditEvent:
        return AuditEvent(kind="k", actor="a", payload="{}", prev_hash="0" * 64, hash=h * 64)

    session.add_all([event("a"), event("b")])
    session.commit()
    _refused(session, event("a"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    session.add(event("c"))
    session.commit()
    assert session.exec(select(AuditEvent.seq).where(AuditEvent.hash == "c" * 64)).one() > 2


def test_motion_rules_checked_by_create_model(session: Session, hall_setup: HallSetup) -> None:
    assert hall_setup.sitting.id is not None
    with pytest.raises(ValueError, match="passing rule"):
        MotionCreate(title="t", ballot_kind=1)
    with pytest.raises(ValueError, match="ceil"):
        MotionCreate(title="民生实事", ballot_kind=2, items=[f"项目{i}" for i in range(11)], select_k=10, passing_rule=RULE)  # fmt: skip
    ok = MotionCreate(title="民生实事", ballot_kind=2, items=[f"项目{i}" for i in range(12)], select_k=10, passing_rule=RULE)  # fmt: skip
    motion = crud.create_motion(session=session, sitting_id=hall_setup.sitting.id, motion_in=ok)
    session.expire_all()
    stored = session.get(Motion, motion.id)
    assert stored is not None and stored.items[0] == "项目0" and stored.options == 0b1110
    assert stored.passing_rule == RULE
    # The database refuses a ballot kind the protocol does not know.
    bad = Motion(sitting_id=hall_setup.sitting.id, title="x", ballot_kind=9, options=2, passing_rule=RULE)
    _refused(session, bad)
