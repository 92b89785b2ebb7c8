"""Store functions for setting up a hall, and the Create/Public models they take and give."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hvtest.databases import HallSetup, new_public_key
from pydantic import ValidationError
from sqlmodel import Session

from gateway.db import crud
from gateway.db.models import (
    BodyCreate,
    BodyPublic,
    DeviceCreate,
    DevicePublic,
    HallCreate,
    MemberCreate,
    MotionCreate,
    SeatAssignmentCreate,
    SeatCreate,
    SittingCreate,
    SittingPublic,
)
from protocol import consts


def test_bodies_default_their_quorum_by_kind(session: Session) -> None:
    congress = crud.create_body(session=session, body_in=BodyCreate(name="市人大", kind="congress"))
    committee = crud.create_body(
        session=session,
        body_in=BodyCreate(name="市人大常委会", kind="standing_committee", quorum_override_allowed=True),
    )
    assert (congress.quorum_numerator, congress.quorum_denominator, congress.quorum_strict) == (
        2,
        3,
        False,
    )  # 三分之二以上
    assert (committee.quorum_numerator, committee.quorum_denominator) == (1, 2)
    assert [b.name for b in crud.list_bodies(session=session)] == ["市人大", "市人大常委会"]
    assert BodyPublic.model_validate(committee).quorum_override_allowed is True
    with pytest.raises(crud.Conflict):
        crud.create_body(session=session, body_in=BodyCreate(name="市人大", kind="congress"))
    with pytest.raises(ValidationError):
        BodyCreate(name="x", kind="congress", quorum_numerator=3, quorum_denominator=2)


def test_members_and_cards(session: Session, hall_setup: HallSetup) -> None:
    body_id = hall_setup.body.id
    assert body_id is not None
    m = crud.create_member(
        session=session,
        body_id=body_id,
        member_in=MemberCreate(name=" 赵磊 ", card_uid="04 A1 B2 C3".replace(" ", "")),
    )
    assert m.name == "赵磊" and m.card_uid == "04a1b2c3"
    with pytest.raises(crud.Conflict):
        crud.create_member(
            session=session, body_id=body_id, member_in=MemberCreate(name="钱七", card_uid="04A1B2C3")
        )
    with pytest.raises(ValidationError):
        MemberCreate(name="钱七", card_uid="04A1B2")
    with pytest.raises(ValidationError):
        MemberCreate(name="   ")
    with pytest.raises(crud.NotFound):
        crud.create_member(session=session, body_id=999, member_in=MemberCreate(name="钱七"))
    assert len(crud.list_members(session=session, body_id=body_id)) == 4


def test_halls_and_seats_follow_the_id_and_label_rules(session: Session) -> None:
    with pytest.raises(ValidationError):
        HallCreate(id="Hall 1", name="x")  # upper case and a space: not an MQTT-safe id
    with pytest.raises(ValidationError):
        HallCreate(id="-hall", name="x")
    hall = crud.create_hall(session=session, hall_in=HallCreate(id="hall-1", name="一号会场"))
    with pytest.raises(crud.Conflict):
        crud.create_hall(session=session, hall_in=HallCreate(id="hall-1", name="again"))
    for bad in ("", "A 1", "A1234567X", "座1"):
        with pytest.raises(ValidationError):
            SeatCreate(label=bad, row=1, col=1)
    crud.create_seat(session=session, hall_id=hall.id, seat_in=SeatCreate(label="B-01", row=2, col=1))
    crud.create_seat(session=session, hall_id=hall.id, seat_in=SeatCreate(label="A-01", row=1, col=1))
    assert [s.label for s in crud.list_seats(session=session, hall_id=hall.id)] == ["A-01", "B-01"]
    with pytest.raises(crud.Conflict):
        crud.create_seat(session=session, hall_id=hall.id, seat_in=SeatCreate(label="A-01", row=5, col=5))


def test_device_registration_checks_the_public_key(session: Session, hall_setup: HallSetup) -> None:
    key = new_public_key()
    device = crud.register_device(
        session=session, hall_id="hall-1", device_in=DeviceCreate(device_id="kp-001", public_key=key.hex())
    )
    assert device.public_key == key and device.broker_username == "kp-001" and not device.revoked
    assert device.registered_at.tzinfo is not None
    public = json.loads(DevicePublic.model_validate(device).model_dump_json())
    assert public["public_key"] == key.hex()
    not_on_curve = b"\x04" + b"\x01" * 64
    for bad in (key[1:], b"\x02" + key[1:], not_on_curve, "zz"):
        with pytest.raises(ValidationError):
            DeviceCreate(device_id="kp-002", public_key=bad)
    with pytest.raises(crud.Conflict):
        crud.register_device(
            session=session,
            hall_id="hall-1",
            device_in=DeviceCreate(device_id="kp-001", public_key=new_public_key()),
        )
    with pytest.raises(crud.Conflict):  # broker usernames are unique too
        crud.register_device(
            session=session,
            hall_id="hall-1",
            device_in=DeviceCreate(device_id="kp-002", public_key=new_public_key(), broker_username="kp-001"),
        )
    assert [d.device_id for d in crud.list_devices(session=session, hall_id="hall-1")] == ["kp-001"]


def test_revoke_keeps_the_time_given(session: Session, hall_setup: HallSetup) -> None:
    crud.register_device(
        session=session,
        hall_id="hall-1",
        device_in=DeviceCreate(device_id="kp-001", public_key=new_public_key()),
    )
    at = dt.datetime(2026, 3, 5, 8, 30, tzinfo=dt.UTC)
    device = crud.revoke_device(session=session, device_id="kp-001", at=at)
    assert device.revoked and device.revoked_at == at
    assert crud.revoke_device(session=session, device_id="kp-001").revoked_at == at  # idempotent
    with pytest.raises(crud.NotFound):
        crud.revoke_device(session=session, device_id="kp-404")


def test_sittings_get_a_fresh_nonce(session: Session, hall_setup: HallSetup) -> None:
    body_id = hall_setup.body.id
    assert body_id is not None
    again = crud.create_sitting(
        session=session,
        sitting_in=SittingCreate(body_id=body_id, hall_id="hall-1", kind="joint_group", title="联组会议"),
    )
    assert (
        again.state == consts.SITTING_SETUP
        and len(again.nonce) == 8
        and again.nonce != hall_setup.sitting.nonce
    )
    assert json.loads(SittingPublic.model_validate(again).model_dump_json())["nonce"] == again.nonce.hex()
    with pytest.raises(crud.NotFound):
        crud.create_sitting(
            session=session,
            sitting_in=SittingCreate(body_id=body_id, hall_id="nowhere", kind="plenary", title="x"),
        )


def test_assign_seats_all_or_nothing(session: Session, hall_setup: HallSetup) -> None:
    sitting_id = hall_setup.sitting.id
    assert sitting_id is not None
    (s1, s2, s3), (m1, m2, m3) = ([x.id for x in xs] for xs in (hall_setup.seats, hall_setup.members))
    assert s1 and s2 and s3 and m1 and m2 and m3
    with pytest.raises(crud.Conflict):
        crud.assign_seats(
            session=session,
            sitting_id=sitting_id,
            assignments=[
                SeatAssignmentCreate(seat_id=s1, member_id=m1),
                SeatAssignmentCreate(seat_id=s1, member_id=m2),
            ],
        )
    assert crud.list_seat_assignments(session=session, sitting_id=sitting_id) == []
    done = crud.assign_seats(
        session=session,
        sitting_id=sitting_id,
        assignments=[
            SeatAssignmentCreate(seat_id=s1, member_id=m1),
            SeatAssignmentCreate(seat_id=s2, member_id=m2),
        ],
    )
    assert [(a.seat_id, a.member_id) for a in done] == [(s1, m1), (s2, m2)]
    with pytest.raises(crud.Conflict):
        crud.assign_seats(
            session=session,
            sitting_id=sitting_id,
            assignments=[SeatAssignmentCreate(seat_id=s3, member_id=m1)],
        )
    with pytest.raises(crud.NotFound):
        crud.assign_seats(
            session=session,
            sitting_id=sitting_id,
            assignments=[SeatAssignmentCreate(seat_id=s3, member_id=999)],
        )


def test_motions(session: Session, hall_setup: HallSetup) -> None:
    sitting = hall_setup.sitting
    assert sitting.id is not None
    rating = crud.create_motion(
        session=session,
        sitting_id=sitting.id,
        motion_in=MotionCreate(
            title="部门工作满意度测评", ballot_kind=consts.RATING, items=["交通局", "教育局"]
        ),
    )
    assert rating.options == 0b1_1110 and rating.passing_rule is None and rating.secret
    with pytest.raises(ValidationError):  # rating grades do not go up to code 5
        MotionCreate(title="x", ballot_kind=consts.RATING, items=["a"], options=0b11_1110)
    with pytest.raises(ValidationError):  # a yes/no/abstain question has no items
        MotionCreate(title="x", ballot_kind=consts.YES_NO_ABSTAIN, items=["a"], passing_rule=_rule())
    with pytest.raises(ValidationError):
        MotionCreate(title="x", ballot_kind=1, passing_rule={**_rule(), "numerator": 2, "denominator": 2})
    with pytest.raises(ValidationError):
        MotionCreate(title="x", ballot_kind=1, passing_rule={**_rule(), "base": "everyone"})
    sitting.state = consts.SITTING_CLOSED
    session.add(sitting)
    session.commit()
    with pytest.raises(crud.Conflict):
        crud.create_motion(
            session=session,
            sitting_id=sitting.id,
            motion_in=MotionCreate(title="x", ballot_kind=1, passing_rule=_rule()),
        )


def _rule() -> dict[str, object]:
    return {"base": "all", "numerator": 1, "denominator": 2, "strict": True}
