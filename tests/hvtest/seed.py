"""Seeding a hall into a real database: body, members, seats, keypads, a sitting with its seat map.

Used by the store, service and integration tests on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import models as m
from protocol import consts

from .keypads import TestKeypad

MORE_THAN_HALF_OF_ALL = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}


@dataclass
class SeededHall:
    hall_id: str
    body_id: int
    sitting_id: int
    members: list[int]
    keypads: dict[str, TestKeypad] = field(default_factory=dict)
    seats: dict[str, int] = field(default_factory=dict)

    def kp(self, i: int) -> TestKeypad:
        return self.keypads[f"kp-{i}"]


def seed_hall(
    engine: Engine,
    *,
    hall_id: str = "county-hall",
    members: int = 5,
    kind: m.BodyKind = m.BodyKind.CONGRESS,
    override_allowed: bool = False,
    spares: int = 0,
    readerless_checkin: bool = False,
) -> SeededHall:
    """A congress of ``members`` with seats A-1.., keypads kp-1.. bound to them, and a sitting in setup.

    ``spares`` more keypads (kp-<members+1>..) are registered without a seat, ready for a swap.
    """
    with Session(engine) as s:
        s.add(m.Hall(id=hall_id, name="县人大常委会会议厅"))
        body = m.Body.model_validate(
            m.BodyCreate.model_validate(
                {
                    "name": "某县人民代表大会",
                    "kind": kind,
                    "quorum_override_allowed": override_allowed,
                    "readerless_checkin_allowed": readerless_checkin,
                }
            )
        )
        s.add(body)
        s.flush()
        member_rows = [m.Member(body_id=body.id, name=f"代表{i:03d}") for i in range(1, members + 1)]
        seats = [m.Seat(hall_id=hall_id, label=f"A-{i}", row=1, col=i) for i in range(1, members + 1)]
        s.add_all(member_rows + seats)
        s.flush()
        keypads = {}
        for i, seat in enumerate(seats, start=1):
            kp = TestKeypad(f"kp-{i}")
            keypads[kp.device_id] = kp
            s.add(
                m.Device(
                    device_id=kp.device_id,
                    hall_id=hall_id,
                    public_key=kp.public_key,
                    broker_username=kp.device_id,
                    seat_id=seat.id,
                )
            )
        for i in range(members + 1, members + spares + 1):
            kp = TestKeypad(f"kp-{i}")
            keypads[kp.device_id] = kp
            s.add(m.Device(device_id=kp.device_id, hall_id=hall_id, public_key=kp.public_key, broker_username=kp.device_id))
        sitting = m.Sitting(
            body_id=body.id, hall_id=hall_id, kind=m.SittingKind.PLENARY, title="第一次全体会议"
        )
        s.add(sitting)
        s.flush()
        for seat, member in zip(seats, member_rows, strict=True):
            s.add(m.SeatAssignment(sitting_id=sitting.id, seat_id=seat.id, member_id=member.id))
        s.commit()
        assert body.id is not None and sitting.id is not None
        return SeededHall(
            hall_id,
            body.id,
            sitting.id,
            [mr.id for mr in member_rows if mr.id is not None],
            keypads,
            {seat.label: seat.id for seat in seats if seat.id is not None},
        )


def add_motion(
    engine: Engine,
    sitting_id: int,
    *,
    title: str = "关于县政府工作报告的决议",
    ballot_kind: int = consts.YES_NO_ABSTAIN,
    items: list[str] | None = None,
    secret: bool = True,
    press_policy: int = consts.FIRST_PRESS,
    passing_rule: dict[str, object] | None = None,
    select_k: int | None = None,
) -> int:
    data = m.MotionCreate.model_validate(
        {
            "title": title,
            "ballot_kind": ballot_kind,
            "items": items or [],
            "secret": secret,
            "press_policy": press_policy,
            "passing_rule": passing_rule
            if passing_rule is not None or ballot_kind == consts.RATING
            else MORE_THAN_HALF_OF_ALL,
            "select_k": select_k,
        }
    )
    with Session(engine) as s:
        row = m.Motion.model_validate({**data.model_dump(), "sitting_id": sitting_id})
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id
