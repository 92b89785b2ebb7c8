"""The whole gateway as its own process: real Mosquitto (generated TLS + ACL config), real database
(SQLite and PostgreSQL), keypads publishing signed frames on their own accounts, the chair over HTTP.

* test_sitting_over_mqtt_and_api: check-in and votes acked and nacked with the right reason codes;
  results read back over the API.
* test_sigkill_during_a_burst: the gateway is killed with SIGKILL in the middle of a burst of votes
  and restarted; keypads retransmit what was not acked; every acked vote is counted exactly once and
  the tally equals the stored ballots.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hvtest.databases import BACKENDS, fresh_database
from hvtest.gatewayproc import GatewayProcess, SimKeypad, free_port, wait_for, write_config
from hvtest.keypads import TestKeypad
from hvtest.mosquitto import running_broker
from hvtest.seed import SeededHall, seed_hall
from sqlalchemy import Engine, func, select

from gateway.audit import AuditLog
from gateway.db import init_db, make_engine
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import codec, consts, frames, reasons

HALL = "county-hall"
Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN
MOTION = {
    "title": "关于本县2027年民生实事项目的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


@dataclass
class Env:
    engine: Engine
    hall: SeededHall
    gateway: GatewayProcess
    keypads: dict[str, SimKeypad]

    def kp(self, i: int) -> SimKeypad:
        return self.keypads[f"kp-{i}"]


def _env(tmp_path: Path, backend: str, members: int) -> Iterator[Env]:
    devices = [f"kp-{i}" for i in range(1, members + 1)]
    with (
        fresh_database(backend, tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=members)
        api_port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=api_port
        )
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


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path, request.param, members=5)


def latest(kp: SimKeypad, frame_type: int) -> frames.Frame:
    with kp.lock:
        decoded = [codec.decode(b) for b in kp.broadcasts]
    return [f for f in decoded if frame_type == f.TYPE][-1]


def reply(kp: SimKeypad, counter: int) -> frames.Frame:
    wait_for(lambda: counter in kp.replies)
    return kp.replies[counter]  # type: ignore[return-value]


def test_sitting_over_mqtt_and_api(env: Env) -> None:
    gw, sid = env.gateway, env.hall.sitting_id
    assert gw.api("POST", f"/sittings/{sid}/checkin/open").status_code == 200
    # The keypad may hold the retained setup-state broadcast of the gateway's start: wait for the new one.
    wait_for(
        lambda: any(
            isinstance(f, frames.SittingState) and f.state == consts.SITTING_CHECKIN_OPEN
            for f in map(codec.decode, list(env.kp(1).broadcasts))
        )
    )
    sitting = latest(env.kp(1), consts.SITTING_STATE)
    assert isinstance(sitting, frames.SittingState) and sitting.state == consts.SITTING_CHECKIN_OPEN
    for i in range(1, 5):
        kp = env.kp(i)
        ack = reply(kp, kp.send(kp.keypad.check_in(sid, sitting.sitting_nonce)))
        assert isinstance(ack, frames.Ack) and ack.reason == reasons.ACCEPTED and ack.seat == f"A-{i}"
    assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200

    created = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=MOTION)
    assert created.status_code == 201, created.text
    motion_id = created.json()["id"]
    opened = gw.api("POST", f"/motions/{motion_id}/rounds/1/open")
    assert opened.status_code == 200, opened.text
    wait_for(lambda: any(codec.decode(b).TYPE == consts.MOTION_OPEN for b in env.kp(1).broadcasts))
    motion = latest(env.kp(1), consts.MOTION_OPEN)
    assert isinstance(motion, frames.MotionOpen) and motion.motion_id == motion_id and not motion.secret

    def vote(i: int, choice: int) -> bytes:
        return env.kp(i).keypad.vote(motion_id, 1, motion.round_nonce, (choice,))

    for i, choice in [(1, Y), (2, Y), (3, Y), (4, N_)]:
        ack = reply(env.kp(i), env.kp(i).send(vote(i, choice)))
        assert isinstance(ack, frames.Ack) and ack.reason == reasons.ACCEPTED and ack.choices == (choice,)
    again = env.kp(1)
    repeat = vote(1, A)
    ack = reply(again, again.send(repeat))
    assert ack.reason == reasons.REPLACED  # last press counts
    again.replies.pop(codec.decode(repeat).counter)  # type: ignore[attr-defined]
    again.send(repeat)  # an exact retransmission
    assert reply(again, codec.decode(repeat).counter).reason == reasons.ALREADY_RECORDED  # type: ignore[attr-defined]

    absent = env.kp(5)  # not checked in
    assert reply(absent, absent.send(vote(5, Y))).reason == reasons.NOT_CHECKED_IN
    forger = TestKeypad("kp-5", counter=100)  # right account, wrong key
    assert (
        reply(absent, absent.send(forger.vote(motion_id, 1, motion.round_nonce, (Y,)))).reason
        == reasons.BAD_SIGNATURE
    )

    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/close").status_code == 200
    late = vote(2, N_)
    assert reply(env.kp(2), env.kp(2).send(late)).reason == reasons.ROUND_CLOSED
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/announce").status_code == 200
    wait_for(lambda: any(codec.decode(b).TYPE == consts.RESULT_SUMMARY for b in env.kp(3).broadcasts))

    results = gw.api("GET", f"/motions/{motion_id}/results", role="display").json()
    result = results["rounds"][0]["result"]
    assert (result["expected"], result["present"], result["voted"], result["not_pressed"]) == (5, 4, 4, 0)
    assert result["items"][0]["counts"] == [2, 1, 1]  # kp-1 changed yes -> abstain
    assert result["outcome"] == consts.OUTCOME_FAILED  # 2 yes is not more than half of 5 members
    assert "全体" in result["rule_zh"]
    assert AuditLog(env.engine).verify().ok


@pytest.fixture(params=BACKENDS)
def crash_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path, request.param, members=40)


def test_sigkill_during_a_burst(crash_env: Env) -> None:
    env = crash_env
    hall, gw = env.hall, env.gateway
    sid = hall.sitting_id
    gw.api("POST", f"/sittings/{sid}/checkin/open").raise_for_status()
    wait_for(lambda: any(codec.decode(b).TYPE == consts.SITTING_STATE for b in env.kp(1).broadcasts))
    nonce = latest(env.kp(1), consts.SITTING_STATE).sitting_nonce  # type: ignore[attr-defined]
    for kp in env.keypads.values():
        kp.send(kp.keypad.check_in(sid, nonce))
    wait_for(lambda: all(not kp.pending for kp in env.keypads.values()), retransmit=env.keypads.values())
    gw.api("POST", f"/sittings/{sid}/start").raise_for_status()
    motion_id = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=MOTION).json()["id"]
    gw.api("POST", f"/motions/{motion_id}/rounds/1/open").raise_for_status()
    wait_for(lambda: any(codec.decode(b).TYPE == consts.MOTION_OPEN for b in env.kp(1).broadcasts))
    round_nonce = latest(env.kp(1), consts.MOTION_OPEN).round_nonce  # type: ignore[attr-defined]

    # The burst: every keypad presses 8 times (last press counts), all at once.
    presses: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    cycle = itertools.cycle([Y, N_, A, Y, Y, N_, A])
    for kp in env.keypads.values():
        for _ in range(8):
            choice = next(cycle)
            frame = kp.keypad.vote(motion_id, 1, round_nonce, (choice,))
            presses[kp.keypad.device_id].append((kp.send(frame), choice))
    total = sum(len(p) for p in presses.values())

    def acked() -> int:
        return sum(sum(isinstance(r, frames.Ack) for r in kp.replies.values()) for kp in env.keypads.values())

    before = acked()
    wait_for(lambda: acked() >= before + 20, every=0.001)
    gw.kill()
    acked_at_kill = acked() - before
    assert acked_at_kill < total, "the gateway finished the burst before it was killed: nothing was tested"
    print(f"killed after {acked_at_kill} of {total} presses were acked")

    gw.start()
    wait_for(
        lambda: all(not kp.pending for kp in env.keypads.values()),
        timeout=90,
        retransmit=env.keypads.values(),
    )
    gw.stop()

    for kp in env.keypads.values():
        answers = [kp.replies[c] for c, _ in presses[kp.keypad.device_id]]
        assert all(isinstance(a, frames.Ack) for a in answers), answers
    # Every press of the burst is in the store exactly once, and each member's ballot is their last press.
    with env.engine.connect() as conn:
        counters = conn.execute(
            select(t.accepted.c.device_id, func.count())
            .where(t.accepted.c.frame_type == consts.VOTE)
            .group_by(t.accepted.c.device_id)
        ).all()
        assert dict(counters) == {dev: 8 for dev in presses}
        ballots = {row.device_id: tuple(bytes(row.choices)) for row in conn.execute(select(t.named))}
    expected = {dev: (max(p)[1],) for dev, p in presses.items()}
    assert ballots == expected

    # Close the round on the recovered state: the tally equals the stored ballots.
    nonces = itertools.count(1)
    recovered = Gateway(
        env.engine, HALL, audit_log=AuditLog(env.engine), nonce=lambda: next(nonces).to_bytes(8, "big")
    )
    recovered.close_round((motion_id, 1), "chair")
    result = recovered.sitting.rounds[(motion_id, 1)].result
    assert result is not None
    stored = collections.Counter(choice for (choice,) in ballots.values())
    assert result.items[0].counts == (stored[Y], stored[N_], stored[A])
    assert result.voted == len(presses) and result.not_pressed == 0
    assert AuditLog(env.engine).verify().ok
