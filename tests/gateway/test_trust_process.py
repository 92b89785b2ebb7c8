"""Trust under insiders, through the real gateway process, real Mosquitto and a real database
(SQLite and PostgreSQL): only the deputy changes a vote.

* test_checkin_requires_the_members_card: 代签到 with another member's card, or without the card on
  record, is refused CARD_MISMATCH and leaves no attendance row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hvtest.databases import BACKENDS, fresh_database
from hvtest.gatewayproc import GatewayProcess, SimKeypad, free_port, wait_for, write_config
from hvtest.mosquitto import running_broker
from hvtest.seed import SeededHall, seed_hall
from sqlalchemy import Engine, select, update

from gateway.db import init_db, make_engine
from gateway.store import tables as t
from protocol import codec, consts, frames, reasons

HALL = "county-hall"
CARD_1 = bytes.fromhex("04a1b2c3")
CARD_2 = bytes.fromhex("04d5e6f7")


@dataclass
class Env:
    engine: Engine
    hall: SeededHall
    gateway: GatewayProcess
    keypads: dict[str, SimKeypad]

    def kp(self, i: int) -> SimKeypad:
        return self.keypads[f"kp-{i}"]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """Five members (1 and 2 with cards on record), keypads kp-1..kp-5 and spares kp-6, kp-7."""
    devices = [f"kp-{i}" for i in range(1, 8)]
    with (
        fresh_database(request.param, tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=5, spares=2)
        with engine.begin() as conn:
            for member, card in ((hall.members[0], CARD_1), (hall.members[1], CARD_2)):
                conn.execute(update(t.member).where(t.member.c.id == member).values(card_uid=card.hex()))
        api_port = free_port()
        config = write_config(tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=api_port)
        proc = GatewayProcess(config, api_port, tmp_path / "gateway.log")
        keypads = {dev: SimKeypad(broker, hall.keypads[dev]) for dev in devices}
        try:
            proc.start()
            for kp in keypads.values():
                kp.connect()
            yield Env(engine, hall, proc, keypads)
        finally:
            for kp in keypads.values():
                kp.close()
            proc.stop()
            engine.dispose()


def latest(kp: SimKeypad, frame_type: int) -> frames.Frame:
    wait_for(lambda: any(frame_type == codec.decode(b).TYPE for b in list(kp.broadcasts)))
    with kp.lock:
        decoded = [codec.decode(b) for b in kp.broadcasts]
    return [f for f in decoded if frame_type == f.TYPE][-1]


def reply(kp: SimKeypad, counter: int) -> frames.Frame:
    wait_for(lambda: counter in kp.replies)
    return kp.replies[counter]  # type: ignore[return-value]


def open_checkin(env: Env) -> bytes:
    assert env.gateway.api("POST", f"/sittings/{env.hall.sitting_id}/checkin/open").status_code == 200
    sitting = latest(env.kp(1), consts.SITTING_STATE)
    assert isinstance(sitting, frames.SittingState)
    return sitting.sitting_nonce


def check_in(env: Env, i: int, nonce: bytes, card: bytes = b"") -> frames.Frame:
    kp = env.kp(i)
    return reply(kp, kp.send(kp.keypad.check_in(env.hall.sitting_id, nonce, card)))


def present(env: Env) -> set[int]:
    with env.engine.connect() as conn:
        rows = conn.execute(select(t.attendance.c.member_id).where(t.attendance.c.sitting_id == env.hall.sitting_id))
        return set(rows.scalars())


def test_checkin_requires_the_members_card(env: Env) -> None:
    nonce = open_checkin(env)
    m = env.hall.members
    assert check_in(env, 1, nonce).reason == reasons.CARD_MISMATCH  # card on record, none presented
    assert check_in(env, 1, nonce, CARD_2).reason == reasons.CARD_MISMATCH  # another member's card
    assert check_in(env, 3, nonce, CARD_1).reason == reasons.CARD_MISMATCH  # member 3 has none; card is 1's
    assert present(env) == set()
    ack = check_in(env, 1, nonce, CARD_1)
    assert isinstance(ack, frames.Ack) and ack.reason == reasons.ACCEPTED and ack.seat == "A-1"
    assert check_in(env, 3, nonce).reason == reasons.ACCEPTED  # no card on record: a keypad without reader
    assert check_in(env, 4, nonce, bytes.fromhex("0499887766")).reason == reasons.ACCEPTED  # unknown card
    assert present(env) == {m[0], m[2], m[3]}
