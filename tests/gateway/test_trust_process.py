"""Trust under insiders, through the real gateway process, real Mosquitto and a real database
(SQLite and PostgreSQL): only the deputy changes a vote.

* test_checkin_requires_the_members_card: 代签到 with another member's card, or without the card on
  record, is refused CARD_MISMATCH and leaves no attendance row.
* test_swap_in_a_last_press_round_the_new_keypads_first_press_counts: after a swap the new keypad's
  press (counter 1) is acked REPLACED and counts; one ballot, carried over; announced to the chair.
* test_a_technician_cannot_change_a_deputys_vote: binding, moving, unbinding at a live seat refused.
* test_the_roster_is_frozen_from_checkin_open_until_the_sitting_closes: 应到 fixed at check-in open.
* test_a_clerks_token_cannot_swap_*: the role is checked first; nothing changes anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hvtest.databases import BACKENDS, fresh_database
from hvtest.gatewayproc import TOKENS, GatewayProcess, SimKeypad, free_port, wait_for, write_config
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
    return checkin_state(env).sitting_nonce


def checkin_state(env: Env) -> frames.SittingState:
    """The sitting-state broadcast that says check-in is open (earlier retained ones may come first)."""

    def states() -> list[frames.Frame]:
        return [
            f for f in (codec.decode(b) for b in list(env.kp(1).broadcasts))
            if isinstance(f, frames.SittingState) and f.state == consts.SITTING_CHECKIN_OPEN
        ]  # fmt: skip

    wait_for(lambda: bool(states()))
    found = states()[-1]
    assert isinstance(found, frames.SittingState)
    return found


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


def session_with_round(env: Env, *, secret: bool, present: tuple[int, ...] = (1, 2, 3, 4)) -> tuple[int, bytes]:
    """Check-in (members 1 and 2 with their cards), session started, a last-press round open."""
    gw, sid = env.gateway, env.hall.sitting_id
    nonce = open_checkin(env)
    cards = {1: CARD_1, 2: CARD_2}
    for i in present:
        assert check_in(env, i, nonce, cards.get(i, b"")).reason == reasons.ACCEPTED
    assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200
    motion = {
        "title": "关于县政府工作报告的决议",
        "ballot_kind": consts.YES_NO_ABSTAIN,
        "secret": secret,
        "press_policy": consts.LAST_PRESS,
        "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
    }
    created = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=motion)
    assert created.status_code == 201, created.text
    motion_id = created.json()["id"]
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/open").status_code == 200
    opened = latest(env.kp(1), consts.MOTION_OPEN)
    assert isinstance(opened, frames.MotionOpen) and opened.motion_id == motion_id
    return motion_id, opened.round_nonce


def vote(env: Env, i: int, motion_id: int, nonce: bytes, choice: int) -> frames.Frame:
    kp = env.kp(i)
    return reply(kp, kp.send(kp.keypad.vote(motion_id, 1, nonce, (choice,))))


def device_row(env: Env, device_id: str) -> tuple[bool, int | None]:
    with env.engine.connect() as conn:
        row = conn.execute(select(t.device.c.revoked, t.device.c.seat_id).where(t.device.c.device_id == device_id)).one()
        return bool(row.revoked), row.seat_id


def audit_kinds(env: Env) -> list[tuple[str, dict[str, object]]]:
    from gateway.audit import AuditLog

    return [(r.kind, json.loads(r.payload)) for r in AuditLog(env.engine).records() if r.kind.startswith("device.")]


def test_swap_in_a_last_press_round_the_new_keypads_first_press_counts(env: Env) -> None:
    gw, m = env.gateway, env.hall.members
    motion_id, nonce = session_with_round(env, secret=False)
    for choice in (consts.NO, consts.ABSTAIN, consts.YES, consts.YES, consts.YES):  # old keypad's counter climbs
        assert isinstance(vote(env, 1, motion_id, nonce, choice), frames.Ack)
    assert vote(env, 2, motion_id, nonce, consts.NO).reason == reasons.ACCEPTED

    swapped = gw.api("POST", f"/halls/{HALL}/seats/A-1/swap", role="technician", json={"to": "kp-6"})
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["carried_over"] is True and swapped.json()["old"] == "kp-1"

    # the new keypad starts at counter 1: its press comes after every press of the old one
    ack = vote(env, 6, motion_id, nonce, consts.NO)
    assert isinstance(ack, frames.Ack) and ack.reason == reasons.REPLACED and ack.choices == (consts.NO,)
    assert ack.seat == "A-1"
    assert vote(env, 1, motion_id, nonce, consts.YES).reason == reasons.DEVICE_REVOKED

    # announced on the chair's side, not on the big screen
    chair = gw.api("GET", "/live").json()
    (notice,) = chair["notices"]
    assert (notice["seat"], notice["from"], notice["to"], notice["carried_over"]) == ("A-1", "kp-1", "kp-6", True)
    assert "A-1" in notice["zh"] and "kp-6" in notice["zh"]
    assert gw.api("GET", "/live", role="display").json()["notices"] == []

    # one ballot for the member (carried over, no new one), counted as the new keypad's press
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/close").status_code == 200
    result = gw.api("GET", f"/motions/{motion_id}/results", role="chair").json()["rounds"][0]["result"]
    assert result["items"][0]["counts"] == [0, 2, 0] and result["voted"] == 2
    with env.engine.connect() as conn:
        ballots = conn.execute(select(t.named.c.member_id, t.named.c.device_id)).all()
    assert sorted(ballots) == sorted([(m[0], "kp-6"), (m[1], "kp-2")])

    kinds = audit_kinds(env)
    assert [k for k, _ in kinds][-3:] == ["device.revoked", "device.bound", "device.swapped"]
    swap_event = kinds[-1][1]
    assert swap_event["member"] == m[0] and swap_event["from"] == "kp-1" and swap_event["to"] == "kp-6"
    assert len(str(swap_event["from_key_fingerprint"])) == 64 != len(str(swap_event["to_key_fingerprint"])) - 1


def test_a_technician_cannot_change_a_deputys_vote(env: Env) -> None:
    gw, seats, m = env.gateway, env.hall.seats, env.hall.members
    motion_id, nonce = session_with_round(env, secret=True)
    assert vote(env, 2, motion_id, nonce, consts.YES).reason == reasons.ACCEPTED
    before = audit_kinds(env)

    # bind a spare to the deputy's seat, move or unbind the deputy's keypad: refused, nothing changes
    for device_id, seat in (("kp-7", seats["A-2"]), ("kp-2", None), ("kp-2", seats["A-5"]), ("kp-7", seats["A-5"])):
        r = gw.api("PUT", f"/devices/{device_id}/seat", role="technician", json={"seat_id": seat})
        assert r.status_code == 409 and r.json()["code"] == "SEAT_IN_SITTING", r.text
    assert device_row(env, "kp-7") == (False, None) and device_row(env, "kp-2") == (False, seats["A-2"])
    # the seat map is frozen too
    r = gw.api("POST", f"/sittings/{env.hall.sitting_id}/seats", role="clerk", json=[])
    assert r.status_code == 409 and r.json()["code"] == "ROSTER_FROZEN"
    assert audit_kinds(env) == before

    # the spare, unbound, cannot vote; the deputy's ballot stands
    spare = env.kp(7)
    nack = reply(spare, spare.send(spare.keypad.vote(motion_id, 1, nonce, (consts.NO,))))
    assert nack.reason == reasons.SEAT_UNBOUND
    # a clerk's token cannot swap either (the swap is a technician's, and it is announced)
    r = gw.api("POST", f"/halls/{HALL}/seats/A-2/swap", role="clerk", json={"to": "kp-7"})
    assert r.status_code == 403 and device_row(env, "kp-2") == (False, seats["A-2"])
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/close").status_code == 200
    result = gw.api("GET", f"/motions/{motion_id}/results", role="chair").json()["rounds"][0]["result"]
    assert result["items"][0]["counts"] == [1, 0, 0]

    # revoking stays possible (a stolen keypad is stopped), and is audited with seat, member and key
    assert gw.api("POST", "/devices/kp-3/revoke", role="technician").status_code == 200
    kind, payload = audit_kinds(env)[-1]
    assert kind == "device.revoked" and payload["seat"] == "A-3" and payload["member"] == m[2]
    assert len(str(payload["key_fingerprint"])) == 64


def test_the_roster_is_frozen_from_checkin_open_until_the_sitting_closes(env: Env) -> None:
    gw, body, sid = env.gateway, env.hall.body_id, env.hall.sitting_id
    member = {"name": "补选代表"}
    assert gw.api("POST", f"/bodies/{body}/members", role="clerk", json=member).status_code == 201  # setup: fine
    nonce = open_checkin(env)
    assert checkin_state(env).expected == 6
    for attempt in (
        lambda: gw.api("POST", f"/bodies/{body}/members", role="clerk", json={"name": "临时代表"}),
        lambda: httpx.post(
            f"{gw.url}/bodies/{body}/members/import", content="姓名\n临时代表\n".encode(), timeout=30,
            headers={"Content-Type": "text/csv", "Authorization": f"Bearer {TOKENS['clerk']}"},
        ),
    ):  # fmt: skip
        r = attempt()
        assert r.status_code == 409 and r.json()["code"] == "ROSTER_FROZEN", r.text
    assert check_in(env, 3, nonce).reason == reasons.ACCEPTED
    assert gw.api("GET", "/live").json()["sitting"]["expected"] == 6
    assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200
    r = gw.api("POST", f"/bodies/{body}/members", role="clerk", json={"name": "临时代表"})
    assert r.status_code == 409
    assert gw.api("POST", f"/sittings/{sid}/close").status_code == 200
    assert gw.api("POST", f"/bodies/{body}/members", role="clerk", json={"name": "临时代表"}).status_code == 201


def hallvote(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("hallvote")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60, check=False)


def test_a_clerks_token_cannot_swap_and_changes_nothing_anywhere(env: Env, tmp_path: Path) -> None:
    seats = env.hall.seats
    motion_id, nonce = session_with_round(env, secret=False)
    config = str(tmp_path / "hall.toml")
    before = audit_kinds(env)
    for token in (TOKENS["clerk"], TOKENS["chair"], "not-a-token-of-this-hall"):
        done = hallvote("device", "swap", "--seat", "A-1", "--to", "kp-6", "--config", config, "--token", token)
        assert done.returncode == 6 and "FORBIDDEN" in done.stderr + done.stdout, done.stderr + done.stdout
    # nothing changed in the database, the audit log or the running gateway
    assert device_row(env, "kp-1") == (False, seats["A-1"]) and device_row(env, "kp-6") == (False, None)
    assert audit_kinds(env) == before
    assert vote(env, 1, motion_id, nonce, consts.YES).reason == reasons.ACCEPTED
    assert vote(env, 6, motion_id, nonce, consts.NO).reason == reasons.SEAT_UNBOUND

    # the technician's token swaps, through the running gateway
    done = hallvote(
        "device", "swap", "--seat", "A-1", "--to", "kp-6", "--config", config, "--token", TOKENS["technician"]
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "本轮已按项目保留" in done.stdout
    assert device_row(env, "kp-1") == (True, seats["A-1"]) and device_row(env, "kp-6") == (False, seats["A-1"])
    assert vote(env, 1, motion_id, nonce, consts.NO).reason == reasons.DEVICE_REVOKED
    assert vote(env, 6, motion_id, nonce, consts.NO).reason == reasons.REPLACED
    # a swap the gateway refuses is refused as without a gateway (exit 5, the reason's code)
    done = hallvote(
        "device", "swap", "--seat", "A-2", "--to", "kp-404", "--config", config, "--token", TOKENS["technician"]
    )
    assert done.returncode == 5 and "UNKNOWN_DEVICE" in done.stderr + done.stdout, done.stderr + done.stdout


def test_a_clerks_token_cannot_swap_while_the_gateway_is_stopped(env: Env, tmp_path: Path) -> None:
    env.gateway.stop()
    config = str(tmp_path / "hall.toml")
    done = hallvote("device", "swap", "--seat", "A-1", "--to", "kp-6", "--config", config, "--token", TOKENS["clerk"])
    assert done.returncode == 6 and "FORBIDDEN" in done.stderr + done.stdout
    assert device_row(env, "kp-1") == (False, env.hall.seats["A-1"]) and audit_kinds(env) == []


def verify(env: Env, *extra: str) -> subprocess.CompletedProcess[str]:
    url = env.engine.url.render_as_string(hide_password=False)
    return hallvote("audit", "verify", "--db", url, *extra)


def announce(env: Env, motion_id: int) -> frames.ResultSummary:
    gw = env.gateway
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/close").status_code == 200
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/announce").status_code == 200
    wait_for(
        lambda: any(
            f.TYPE == consts.RESULT_SUMMARY and f.motion_id == motion_id  # type: ignore[attr-defined]
            for f in (codec.decode(b) for b in list(env.kp(3).broadcasts))
        )
    )
    result = [
        f for f in (codec.decode(b) for b in list(env.kp(3).broadcasts))
        if f.TYPE == consts.RESULT_SUMMARY and f.motion_id == motion_id  # type: ignore[attr-defined]
    ][-1]  # fmt: skip
    assert isinstance(result, frames.ResultSummary)
    return result


def test_the_audit_chain_proves_the_results_and_its_head_is_published(env: Env) -> None:
    from gateway.audit import AuditLog

    gw = env.gateway
    named_id, nonce = session_with_round(env, secret=False)
    for i, choice in ((1, consts.YES), (2, consts.NO), (3, consts.YES), (1, consts.ABSTAIN)):
        assert isinstance(vote(env, i, named_id, nonce, choice), frames.Ack)
    named = announce(env, named_id)
    secret_motion = {
        "title": "关于民生实事项目的决定",
        "ballot_kind": consts.YES_NO_ABSTAIN,
        "secret": True,
        "press_policy": consts.FIRST_PRESS,
        "passing_rule": {"base": "present", "numerator": 1, "denominator": 2, "strict": False},
    }
    secret_id = gw.api("POST", f"/sittings/{env.hall.sitting_id}/motions", role="clerk", json=secret_motion).json()["id"]
    assert gw.api("POST", f"/motions/{secret_id}/rounds/1/open").status_code == 200
    def opened() -> list[frames.Frame]:
        return [f for f in (codec.decode(b) for b in list(env.kp(1).broadcasts)) if f.TYPE == consts.MOTION_OPEN]

    wait_for(lambda: any(f.motion_id == secret_id for f in opened()))  # type: ignore[attr-defined]
    secret_nonce = [f for f in opened() if f.motion_id == secret_id][-1].round_nonce  # type: ignore[attr-defined]
    for i, choice in ((1, consts.YES), (2, consts.YES), (3, consts.NO)):
        assert vote(env, i, secret_id, secret_nonce, choice).reason == reasons.ACCEPTED
    secret = announce(env, secret_id)

    # the head is published with each result: MQTT (retained), the API, the live feed; all the same record
    frozen = {
        (json.loads(r.payload)["motion"]): r for r in AuditLog(env.engine).records() if r.kind == "result.frozen"
    }
    for motion_id, broadcast in ((named_id, named), (secret_id, secret)):
        record = frozen[motion_id]
        assert (broadcast.audit_seq, broadcast.audit_head.hex()) == (record.seq, record.hash)
        api = gw.api("GET", f"/motions/{motion_id}/results", role="display").json()
        assert api["rounds"][0]["result"]["audit_head"] == f"{record.seq}:{record.hash}"
    assert gw.api("GET", "/live").json()["round"]["result"]["audit_head"] == f"{secret.audit_seq}:{secret.audit_head.hex()}"
    payload = json.loads(frozen[secret_id].payload)  # the full counts are in the chain
    assert payload["totals"] == {"1:yes": 2, "1:no": 1, "1:abstain": 0, "not_pressed": 1}
    assert (payload["expected"], payload["present"], payload["voted"]) == (5, 4, 3)

    head = codec.encode(secret).hex()
    ok = verify(env, "--head", head)
    assert ok.returncode == 0 and "2 stored result(s) agree" in ok.stdout, ok.stdout + ok.stderr
    api_json = gw.api("GET", f"/motions/{named_id}/results").text
    assert verify(env, "--head", api_json).returncode == 0

    # an edited secret tally is caught
    tally = t.secret_tally
    with env.engine.begin() as conn:
        round_id = conn.execute(select(t.round_.c.id).where(t.round_.c.motion_id == secret_id)).scalar_one()
        conn.execute(update(tally).where(tally.c.round_id == round_id, tally.c.choice == 2).values(count=0))
        conn.execute(update(tally).where(tally.c.round_id == round_id, tally.c.choice == 1).values(count=3))
    bad = verify(env)
    assert bad.returncode == 1 and "TALLY_MISMATCH" in bad.stdout, bad.stdout
    with env.engine.begin() as conn:
        conn.execute(update(tally).where(tally.c.round_id == round_id, tally.c.choice == 2).values(count=1))
        conn.execute(update(tally).where(tally.c.round_id == round_id, tally.c.choice == 1).values(count=2))
    assert verify(env, "--head", head).returncode == 0

    # a cut tail is caught, with the published head and without it
    gw.stop()
    audit = AuditLog(env.engine).table
    with env.engine.begin() as conn:
        top = conn.execute(select(audit.c.seq).order_by(audit.c.seq.desc()).limit(1)).scalar_one()
        conn.execute(audit.delete().where(audit.c.seq > top - 10))
    cut = verify(env)
    assert cut.returncode == 1 and "RESULT_NOT_IN_CHAIN" in cut.stdout, cut.stdout
    cut = verify(env, "--head", head)
    assert cut.returncode == 1 and "TRUNCATED_TAIL" in cut.stdout, cut.stdout
    # ... and so is an emptied log
    with env.engine.begin() as conn:
        conn.execute(audit.delete())
    empty = verify(env)
    assert empty.returncode == 1 and "RESULT_NOT_IN_CHAIN" in empty.stdout, empty.stdout
