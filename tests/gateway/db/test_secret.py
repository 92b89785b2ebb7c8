"""Secret ballots: after a round closes, nothing stored links a member to a choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hvtest.databases import HallSetup, new_public_key
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, delete, select, update

from gateway.db import crud
from gateway.db.engine import purge_deleted
from gateway.db.models import (
    AcceptedFrame,
    DeviceCreate,
    MotionCreate,
    Round,
    SecretParticipation,
    SecretPending,
    SecretTally,
)

# A run of choice codes and a counter value that occur nowhere else in the database files.
CHOICES = bytes(
    [1, 2, 3, 3, 2, 1, 1, 3, 2, 2, 1, 3, 3, 1, 2, 1, 2, 3, 3, 2, 1, 1, 3, 2, 2, 1, 3, 3, 1, 2, 1, 2]
)
COUNTER_MARK = 917_364_825
MEMBER_LINKS = {"member_id", "seat_id", "device_id", "counter", "card_uid"}


def test_participation_and_tally_have_no_column_that_links_a_member_to_a_choice(engine: Engine) -> None:
    inspector = inspect(engine)
    participation = {c["name"] for c in inspector.get_columns("secret_participation")}
    assert participation == {"round_id", "member_id"}
    tally = {c["name"] for c in inspector.get_columns("secret_tally")}
    assert tally == {"round_id", "item", "choice", "count"}
    assert not tally & MEMBER_LINKS
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("secret_tally")} == {"round"}
    # Re-acks need no choice either; the digest is erased at close (see test below).
    accepted = {c["name"] for c in inspector.get_columns("accepted_frame")}
    assert accepted == {"device_id", "counter", "frame_type", "reason", "ref_id", "round", "digest"}
    # The models say the same as the database.
    assert set(SecretParticipation.model_fields) == participation
    assert set(SecretTally.model_fields) == tally


def _open_secret_round(session: Session, setup: HallSetup) -> tuple[Round, list[str]]:
    assert setup.sitting.id is not None
    motion = crud.create_motion(
        session=session,
        sitting_id=setup.sitting.id,
        motion_in=MotionCreate(
            title="民生实事项目票决",
            ballot_kind=2,
            items=[f"候选项目{i + 1}" for i in range(len(CHOICES))],
            press_policy=2,
            passing_rule={"base": "present", "numerator": 1, "denominator": 2, "strict": True},
        ),
    )
    assert motion.id is not None and motion.secret
    rnd = Round(motion_id=motion.id, number=1, state="open")
    session.add(rnd)
    devices = []
    for i, seat in enumerate(setup.seats):
        device_id = f"kp-{i + 1:03d}"
        crud.register_device(
            session=session,
            hall_id=setup.hall.id,
            device_in=DeviceCreate(device_id=device_id, public_key=new_public_key()),
        )
        crud.bind_device(session=session, device_id=device_id, seat_id=seat.id)
        devices.append(device_id)
    session.refresh(rnd)
    return rnd, devices


def _press_and_close(session: Session, setup: HallSetup, rnd: Round, devices: list[str]) -> None:
    assert rnd.id is not None
    # While open: each accepted press is durable (SecretPending) before the ack.
    for i, (member, device_id) in enumerate(zip(setup.members, devices, strict=True)):
        assert member.id is not None
        counter = COUNTER_MARK + i
        choices = CHOICES if i == 0 else bytes([1]) * len(CHOICES)
        session.add(
            SecretPending(
                round_id=rnd.id,
                member_id=member.id,
                device_id=device_id,
                counter=counter,
                choices=choices,
                item_counters=[counter] * len(CHOICES),
            )
        )
        session.add(
            AcceptedFrame(
                device_id=device_id,
                counter=counter,
                frame_type=4,
                ref_id=rnd.motion_id,
                round=1,
                digest=b"\xab" * 32,
            )
        )
    session.commit()

    # Close, in one transaction: totals and participation in, pending out, digests erased.
    pending = session.exec(select(SecretPending).where(SecretPending.round_id == rnd.id)).all()
    totals: dict[tuple[int, int], int] = {}
    for p in pending:
        for item, choice in enumerate(p.choices):
            totals[item, choice] = totals.get((item, choice), 0) + 1
    session.add_all(
        SecretTally(round_id=rnd.id, item=item, choice=choice, count=n)
        for (item, choice), n in sorted(totals.items())
    )
    session.add_all(
        SecretParticipation(round_id=rnd.id, member_id=m) for m in sorted(p.member_id for p in pending)
    )
    session.exec(delete(SecretPending).where(col(SecretPending.round_id) == rnd.id))
    session.exec(
        update(AcceptedFrame)
        .where(col(AcceptedFrame.frame_type) == 4, col(AcceptedFrame.ref_id) == rnd.motion_id)
        .values(digest=None)
    )
    rnd.state = "closed"
    session.add(rnd)
    session.commit()


def test_closing_a_secret_round_deletes_pending_choices(session: Session, hall_setup: HallSetup) -> None:
    rnd, devices = _open_secret_round(session, hall_setup)
    _press_and_close(session, hall_setup, rnd, devices)
    session.expire_all()
    assert session.exec(select(SecretPending)).all() == []
    assert len(session.exec(select(SecretParticipation)).all()) == 3
    tally = {(t.item, t.choice): t.count for t in session.exec(select(SecretTally))}
    assert tally[0, 1] == 3  # item 0: everyone pressed yes
    assert tally[1, 1] == 2 and tally[1, 2] == 1
    assert sum(n for (item, _), n in tally.items() if item == 5) == 3
    assert all(f.digest is None for f in session.exec(select(AcceptedFrame)))


def _files(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def test_deleted_choices_leave_the_sqlite_files(
    session: Session, hall_setup: HallSetup, engine: Engine
) -> None:
    rnd, devices = _open_secret_round(session, hall_setup)
    mark = json.dumps([COUNTER_MARK] * 2).encode()[1:-1]  # "917364825, 917364825" in item_counters
    if engine.dialect.name == "sqlite":
        db_path = Path(str(engine.url.database))
        _press_and_close(session, hall_setup, rnd, devices)
        session.close()
        before = _files(db_path)
        assert CHOICES in before and mark in before  # the WAL still holds the page images
        purge_deleted(engine)
        after = _files(db_path)
        assert CHOICES not in after and mark not in after
        assert (db_path.parent / (db_path.name + "-wal")).stat().st_size == 0
    else:
        _press_and_close(session, hall_setup, rnd, devices)
        session.close()
        with engine.connect() as conn:
            before = conn.execute(text("SELECT pg_relation_filenode('secret_pending')")).scalar()
        purge_deleted(engine)
        with engine.connect() as conn:
            after = conn.execute(text("SELECT pg_relation_filenode('secret_pending')")).scalar()
        assert before != after  # VACUUM FULL rewrote the table into a new file


@pytest.mark.parametrize("model", [SecretPending, SecretParticipation, SecretTally, AcceptedFrame])
def test_secret_tables_keep_no_arrival_order_on_sqlite(model: type, sqlite_engine: Engine) -> None:
    # WITHOUT ROWID: rows are stored by primary key; no rowid counts the order of presses.
    with sqlite_engine.connect() as conn, pytest.raises(OperationalError, match="rowid"):
        conn.execute(text(f"SELECT rowid FROM {model.__tablename__}"))
