"""Seeding the rig's hall into its database: a congress, members, seats, keypads bound to seats, one sitting.

Each keypad's private key is made here and written to its simulated NVS
(as provisioning does), so the device table holds its public key before
the gateway starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import models as m

__all__ = ["SeededHall", "new_secret", "public_key_of", "seed"]

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def new_secret() -> bytes:
    while True:
        raw = os.urandom(32)
        if 0 < int.from_bytes(raw, "big") < N:
            return raw


def public_key_of(secret: bytes) -> bytes:
    key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@dataclass
class SeededHall:
    hall_id: str
    body_id: int
    sitting_id: int
    seats: list[str]  # seat label per member, in roster order
    secrets: dict[str, bytes] = field(default_factory=dict)  # device id -> private key
    spares: list[str] = field(default_factory=list)  # registered keypads without a seat


def device_id(n: int) -> str:
    return f"kp-{n:04d}"


def seed(
    engine: Engine, hall_id: str, members: int, spares: int = 0, title: str = "第一次全体会议"
) -> SeededHall:
    """Members 代表001.., seats by rows of 20 (A-1..), keypads kp-0001.. bound in order, one sitting."""
    with Session(engine) as s:
        s.add(m.Hall(id=hall_id, name="人大会议厅 / Congress hall"))
        body = m.Body.model_validate(
            m.BodyCreate.model_validate(
                {"name": "人民代表大会 / People's Congress", "kind": m.BodyKind.CONGRESS}
            )
        )
        s.add(body)
        s.flush()
        assert body.id is not None
        people = [m.Member(body_id=body.id, name=f"代表{i:04d}") for i in range(1, members + 1)]
        seats = []
        for i in range(members):
            row, col = divmod(i, 20)
            seats.append(
                m.Seat(
                    hall_id=hall_id,
                    label=f"{chr(65 + row % 26)}{'' if row < 26 else row // 26}-{col + 1}",
                    row=row + 1,
                    col=col + 1,
                )
            )
        s.add_all([*people, *seats])
        s.flush()
        keys: dict[str, bytes] = {}
        for i, seat in enumerate(seats, start=1):
            dev, secret = device_id(i), new_secret()
            keys[dev] = secret
            s.add(
                m.Device(
                    device_id=dev,
                    hall_id=hall_id,
                    public_key=public_key_of(secret),
                    broker_username=dev,
                    seat_id=seat.id,
                )
            )
        spare_ids = []
        for i in range(members + 1, members + spares + 1):
            dev, secret = device_id(i), new_secret()
            keys[dev] = secret
            spare_ids.append(dev)
            s.add(
                m.Device(
                    device_id=dev, hall_id=hall_id, public_key=public_key_of(secret), broker_username=dev
                )
            )
        sitting = m.Sitting(body_id=body.id, hall_id=hall_id, kind=m.SittingKind.PLENARY, title=title)
        s.add(sitting)
        s.flush()
        assert sitting.id is not None
        for seat, person in zip(seats, people, strict=True):
            assert seat.id is not None and person.id is not None
            s.add(m.SeatAssignment(sitting_id=sitting.id, seat_id=seat.id, member_id=person.id))
        s.commit()
        assert body.id is not None and sitting.id is not None
        return SeededHall(hall_id, body.id, sitting.id, [seat.label for seat in seats], keys, spare_ids)
