"""``hallvote device swap`` mid-sitting and ``hallvote device list``, on SQLite and PostgreSQL.

The swap runs against a live gateway (its API served by uvicorn, the hall
state in memory): after the CLI returns, the replacement keypad's frames
count for the member at the seat, whose check-in carried over, and the
failed keypad's frames are refused as revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from hvtest.keypads import TestKeypad
from sqlmodel import Session, select

from gateway.api import create_app
from gateway.audit import AuditLog
from gateway.config.settings import GatewaySettings
from gateway.core.decide import Inbound
from gateway.db import crud
from gateway.db.models import Attendance, Device, DeviceCreate
from gateway.service import Gateway
from protocol import codec, frames, reasons

TECH_TOKEN = "tech-token-swap-0001"


def _register_spare(engine, hall_id: str, device_id: str = "kp-9") -> TestKeypad:
    kp = TestKeypad(device_id)
    with Session(engine) as s:
        crud.register_device(
            session=s,
            hall_id=hall_id,
            device_in=DeviceCreate(device_id=device_id, public_key=kp.public_key.hex()),
        )
    return kp


def _audit(engine):
    kinds = ("device.revoked", "device.bound", "device.swapped")
    return [(r.kind, r.actor, json.loads(r.payload)) for r in AuditLog(engine).records() if r.kind in kinds]


class LiveGateway:
    def __init__(self, hall) -> None:
        self.audit = AuditLog(hall.engine)
        self.gateway = Gateway(hall.engine, hall.seeded.hall_id, audit_log=self.audit)
        settings = GatewaySettings(
            hall_id=hall.seeded.hall_id,
            broker={"password": "unused-here"},
            users=[
                {
                    "name": "技术员",
                    "role": "technician",
                    "token_sha256": hashlib.sha256(TECH_TOKEN.encode()).hexdigest(),
                }
            ],
        )
        app = create_app(self.gateway, settings, audit=self.audit)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=hall.api_port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def send(self, device_id: str, payload: bytes) -> frames.Frame:
        out = self.gateway.handle_batch([Inbound(device_id, "up", payload, time.time())])
        replies = [codec.decode(o.payload) for o in out if o.topic.endswith("/down")]
        assert len(replies) == 1
        return replies[0]


@pytest.fixture
def live(hall) -> Iterator[LiveGateway]:
    g = LiveGateway(hall)
    g.thread.start()
    deadline = time.monotonic() + 10
    while not g.server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert g.server.started
    try:
        yield g
    finally:
        g.server.should_exit = True
        g.thread.join(timeout=10)


def test_swap_mid_sitting_keeps_the_check_in(hall, live):
    seeded, gw = hall.seeded, live.gateway
    gw.activate_sitting(seeded.sitting_id)
    gw.open_checkin("chair")
    nonce = gw.sitting.nonce
    ack = live.send("kp-1", seeded.kp(1).check_in(seeded.sitting_id, nonce))
    assert isinstance(ack, frames.Ack) and ack.reason == reasons.ACCEPTED
    spare = _register_spare(hall.engine, seeded.hall_id)
    version = gw.version

    result = hall.invoke(
        "device",
        "swap",
        "--seat",
        "A-1",
        "--to",
        "kp-9",
        "--config",
        str(hall.config),
        "--token",
        TECH_TOKEN,
        "--by",
        "li",
        "--reason",
        "屏幕损坏 / display broken",
    )
    assert result.exit_code == 0, result.output
    assert "座位 A-1: kp-1 → kp-9" in result.output
    assert "代表 / member 代表001: 已签到，签到保留" in result.output
    assert "网关已更换并重新加载" in result.output

    # the running gateway picked the new binding up at once
    assert gw.version > version
    assert gw.state.devices["kp-9"].seat == "A-1" and gw.state.devices["kp-1"].revoked
    # the member's check-in carried over: the new keypad is the member's, already checked in
    again = live.send("kp-9", spare.check_in(seeded.sitting_id, nonce))
    assert (
        isinstance(again, frames.Ack) and again.reason == reasons.ALREADY_CHECKED_IN and again.seat == "A-1"
    )
    assert gw.sitting.present == 1
    refused = live.send("kp-1", seeded.kp(1).check_in(seeded.sitting_id, nonce))
    assert isinstance(refused, frames.Nack) and refused.reason == reasons.DEVICE_REVOKED
    with Session(hall.engine) as s:
        rows = list(s.exec(select(Attendance)))
        assert [(a.member_id, a.device_id) for a in rows] == [(seeded.members[0], "kp-1")]
        old, new = s.get(Device, "kp-1"), s.get(Device, "kp-9")
        assert old.revoked and old.revoked_at is not None and new.seat_id == seeded.seats["A-1"]

    fp_old, fp_new = (hashlib.sha256(k).hexdigest() for k in (seeded.kp(1).public_key, spare.public_key))
    member = seeded.members[0]
    assert _audit(hall.engine) == [  # through the gateway's API: the actor is the token's user
        (
            "device.revoked",
            "技术员",
            {
                "device": "kp-1", "seat": "A-1", "member": member, "key_fingerprint": fp_old,
                "reason": "屏幕损坏 / display broken (technician:li)",
            },
        ),
        ("device.bound", "技术员", {"device": "kp-9", "seat": "A-1", "member": member, "key_fingerprint": fp_new}),
        (
            "device.swapped",
            "技术员",
            {
                "seat": "A-1", "member": member, "from": "kp-1", "to": "kp-9",
                "from_key_fingerprint": fp_old, "to_key_fingerprint": fp_new,
            },
        ),
    ]  # fmt: skip
    assert AuditLog(hall.engine).verify().ok


def test_swap_refused_without_token_while_the_gateway_runs(hall, live):
    _register_spare(hall.engine, hall.seeded.hall_id)
    result = hall.invoke("device", "swap", "--seat", "A-1", "--to", "kp-9", "--config", str(hall.config))
    assert result.exit_code == 6 and "[GATEWAY]" in result.output, result.output
    with Session(hall.engine) as s:
        assert not s.get(Device, "kp-1").revoked and s.get(Device, "kp-9").seat_id is None
    assert _audit(hall.engine) == []


def test_swap_without_a_running_gateway(hall):
    _register_spare(hall.engine, hall.seeded.hall_id)
    result = hall.invoke("device", "swap", "--seat", "A-2", "--to", "kp-9", "--config", str(hall.config))
    assert result.exit_code == 0, result.output
    assert "gateway not running" in result.output
    with Session(hall.engine) as s:
        assert s.get(Device, "kp-2").revoked and s.get(Device, "kp-9").seat_id == hall.seeded.seats["A-2"]
    assert [k for k, _a, _p in _audit(hall.engine)] == ["device.revoked", "device.bound", "device.swapped"]


@pytest.mark.parametrize(
    ("seat", "to", "code", "zh"),
    [
        ("A-1", "kp-404", "UNKNOWN_DEVICE", "没有登记表决器 kp-404"),
        ("A-1", "kp-2", "DEVICE_BUSY", "表决器 kp-2 正绑定在座位 A-2"),
        ("B-1", "kp-9", "NO_DEVICE_AT_SEAT", "座位 B-1 没有在用表决器"),
        ("Z-9", "kp-9", "UNKNOWN_SEAT", "没有座位 Z-9"),
        ("A-1", "kp-1", "SEAT_TAKEN", "座位 A-1 已绑定在用表决器 kp-1"),
    ],
)
def test_swap_refusals_change_nothing(hall, seat, to, code, zh):
    _register_spare(hall.engine, hall.seeded.hall_id)
    with Session(hall.engine) as s:
        before = sorted((d.device_id, d.seat_id, d.revoked) for d in s.exec(select(Device)))
    result = hall.invoke("device", "swap", "--seat", seat, "--to", to, "--config", str(hall.config))
    assert result.exit_code == 5, result.output
    assert f"[{code}]" in result.output and zh in result.output
    with Session(hall.engine) as s:
        assert sorted((d.device_id, d.seat_id, d.revoked) for d in s.exec(select(Device))) == before
    assert _audit(hall.engine) == []


def test_swap_to_a_revoked_keypad(hall):
    with Session(hall.engine) as s:
        crud.revoke_device(session=s, device_id="kp-3")
    result = hall.invoke("device", "swap", "--seat", "A-1", "--to", "kp-3", "--config", str(hall.config))
    assert result.exit_code == 5 and "[DEVICE_REVOKED]" in result.output, result.output


def test_device_list(hall):
    now = dt.datetime.now(dt.UTC)
    with Session(hall.engine) as s:
        kp1 = s.get(Device, "kp-1")
        kp1.online, kp1.battery, kp1.rssi, kp1.firmware_version = True, 87, -61, "0.1.0"
        kp1.last_seen = now - dt.timedelta(seconds=5)
        kp2 = s.get(Device, "kp-2")
        kp2.last_seen = now - dt.timedelta(minutes=10)
        s.add_all([kp1, kp2])
        s.commit()
        crud.revoke_device(session=s, device_id="kp-3")
    _register_spare(hall.engine, hall.seeded.hall_id)
    result = hall.invoke("device", "list", "--config", str(hall.config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if "kp-1 " in line)
    for cell in ("A-1", "在线 online", "87%", "-61 dBm", "5 s", "0.1.0"):
        assert cell in row, (cell, row)
    row2 = next(line for line in lines if "kp-2 " in line)
    assert "离线 offline" in row2 and "10 min" in row2 and "—" in row2
    assert "备用 spare" in next(line for line in lines if "kp-9 " in line)
    assert "kp-3" not in result.output  # revoked ones only with --all
    assert "1/3 在线 / online" in result.output
    everything = hall.invoke("device", "list", "--config", str(hall.config), "--all")
    assert "kp-3" in everything.output and "停用 revoked" in everything.output


def test_provision_while_the_gateway_runs(hall, live, boards):
    """A keypad provisioned while the gateway runs is known to it at once (no restart)."""
    assert "kp-101" not in live.gateway.state.devices
    result = hall.provision(boards.start().port, "--seat", "B-2", "--token", TECH_TOKEN)
    assert result.exit_code == 0, result.output
    assert "网关已重新加载" in result.output
    entry = live.gateway.state.devices["kp-101"]
    assert entry.seat == "B-2" and not entry.revoked
    with Session(hall.engine) as s:
        assert bytes(s.get(Device, "kp-101").public_key) == entry.public_key
