"""Reliability on the device: key generated after Wi-Fi and kept in NVS; counter on flash before
any signature; crash and reboot never reuse a counter; a signed frame is resent unchanged until
answered or its round closes; one precomputation slice at most per key scan; heartbeat and hello;
the watchdog fed only by a healthy loop; one config dict with a local override."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from kpcontexts import DEV, HALL, MOTION, Rig, encode, in_state

from firmware import signer as sg
from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner
from firmware.hal.sim import SimBoard, SimClock, SimCrash, seeded_rng
from gateway.core import signatures as crypto
from protocol import codec, consts, frames, reasons, topics


def test_key_generated_after_wifi_is_up_and_kept_in_nvs() -> None:
    rig = Rig()
    rig.board.wifi.refuse = True
    rig.boot()
    assert rig.state == S.JOINING and rig.board.nvs.get("sk") is None and rig.kp.public_key() is None
    rig.board.wifi.refuse = False
    rig.step(rig.kp.cfg["wifi_retry_ms"])  # joins again
    rig.step()
    assert rig.state == S.CONNECTING
    secret = rig.board.nvs.get("sk")
    assert secret is not None and len(secret) == 32
    assert rig.kp.public_key() == sg.public_key_sec1(secret)
    # a reboot keeps the identity
    again = Keypad(rig.board, rig.kp.cfg)
    assert again.public_key() == rig.kp.public_key()


def test_private_key_never_leaves_and_every_frame_verifies() -> None:
    rig = in_state(S.RECORDED)
    rig.step(rig.kp.cfg["heartbeat_s"] * 1000)
    secret = rig.board.nvs.get("sk")
    assert secret is not None and rig.sent
    key = rig.kp.public_key()
    assert key is not None
    for _topic, payload in rig.sent:
        assert secret not in payload
        crypto.verify(key, payload[:-64], payload[-64:])


def _counter_of(region: bytes) -> int:
    n = region[2]  # version, type, then the device id (length-prefixed), then the counter
    return int.from_bytes(region[3 + n : 7 + n], "big")


def warm(rig: Rig) -> Rig:
    """Step the keypad (offline) until its nonce pool is full, as after its first seconds."""
    signer = rig.kp.signer
    assert signer is not None
    while signer.pending:
        rig.step(1)
    return rig


def test_counter_is_on_flash_before_each_signature() -> None:
    rig = warm(in_state(S.CONNECTING))
    signer = rig.kp.signer
    assert signer is not None
    real_sign = signer.sign
    checked: list[int] = []

    def sign(region: bytes) -> bytes:
        counter = _counter_of(region)
        assert int.from_bytes(rig.board.nvs.data["ctr"], "big") >= counter  # reserved first
        checked.append(counter)
        return real_sign(region)

    signer.sign = sign  # type: ignore[method-assign]
    rig.kp.cfg["counter_block"] = 2
    rig.connect()
    rig.broadcast("sitting", in_state(S.IDLE).kp.sitting)
    rig.press("checkin")
    rig.ack_last()
    rig.broadcast("motion", MOTION)
    for key in ("yes", "no", "abstain", "yes"):
        rig.press(key)
    rig.step(rig.kp.cfg["heartbeat_s"] * 1000)
    warm(rig)  # the heartbeat waits for nonces beyond the reserve
    assert len(checked) >= 7 and checked == sorted(set(checked))


def test_crash_while_reserving_a_counter_then_reboot() -> None:
    rig = in_state(S.MOTION_OPEN, counter_block=1)  # every frame needs an NVS write
    used = [f.counter for f in rig.uplinks()]
    sent = len(rig.sent)
    rig.board.nvs.crash_on = (1, False)  # power lost before the reservation lands
    with pytest.raises(SimCrash):
        rig.press("yes")
    assert len(rig.sent) == sent and rig.kp.tx == []  # nothing was signed or sent
    # reboot on the same flash: a new keypad continues above every counter used
    board = SimBoard(clock=rig.clock, rng=seeded_rng(b"reboot"))
    board.nvs = rig.board.nvs
    kp = Keypad(board, rig.kp.cfg)
    assert kp.public_key() == rig.kp.public_key()
    assert kp.counter.take() > max(used)


def test_crash_after_reserving_leaves_a_gap_not_a_reuse() -> None:
    rig = in_state(S.MOTION_OPEN, counter_block=1)
    rig.board.nvs.crash_on = (1, True)  # the reservation is durable, then power is lost
    with pytest.raises(SimCrash):
        rig.press("yes")
    reserved = int.from_bytes(rig.board.nvs.data["ctr"], "big")
    kp = Keypad(rig.board, rig.kp.cfg)
    assert kp.counter.take() == reserved + 1


def test_frame_resent_unchanged_until_acked() -> None:
    rig = in_state(S.SENT)
    up = topics.device(HALL, DEV, "up")
    first = [p for t, p in rig.sent if t == up][-1]
    for _ in range(6):
        rig.step(rig.kp.cfg["retransmit_max_ms"])
    copies = [p for t, p in rig.sent if t == up and p == first]
    assert len(copies) == 7  # the first send and six retransmissions, byte for byte
    rig.ack_last()
    n = len(rig.sent)
    rig.step(rig.kp.cfg["retransmit_max_ms"] * 3)
    assert [p for t, p in rig.sent[n:] if t == up] == []


def test_busy_keeps_retransmitting_and_round_close_stops_it() -> None:
    rig = in_state(S.SENT)
    up = topics.device(HALL, DEV, "up")
    frame = [p for t, p in rig.sent if t == up][-1]
    rig.nack_last(reasons.BUSY)
    assert rig.state == S.SENT
    rig.step(rig.kp.cfg["retransmit_max_ms"])
    assert [p for t, p in rig.sent if t == up][-1] == frame
    rig.broadcast("motion", frames.MotionClosed(3, 1, b"round-31", 2000))
    n = len(rig.sent)
    rig.step(rig.kp.cfg["retransmit_max_ms"] * 3)
    assert [p for t, p in rig.sent[n:] if t == up] == []


def test_one_key_scan_and_at_most_one_slice_per_step() -> None:
    rig = in_state(S.MOTION_OPEN)
    signer = rig.kp.signer
    assert signer is not None
    calls = {"poll": 0, "slice": 0}
    real_poll, real_slice = rig.board.keys.poll, signer.precompute_slice

    def poll(now: int) -> list[tuple[str, bool]]:
        calls["poll"] += 1
        return real_poll(now)

    def precompute() -> bool:
        calls["slice"] += 1
        more = real_slice()
        assert signer.last_slice_steps <= signer.steps_per_slice
        return more

    while signer.ready < signer.pool_size:  # a keypad idling since boot has a full pool
        rig.step()
    inline = signer.inline_nonces
    rig.board.keys.poll = poll  # type: ignore[method-assign]
    signer.precompute_slice = precompute  # type: ignore[method-assign]
    for i in range(200):
        if i % 50 == 0:
            rig.press("yes" if i % 100 else "no")  # signing in between uses up pooled nonces
        else:
            rig.step()
        assert calls["slice"] <= calls["poll"] == i + 1
    for _ in range(2000):  # idle scanning refills the pool, still one slice per scan
        if signer.ready == signer.pool_size:
            break
        rig.step()
    assert calls["slice"] <= calls["poll"]
    assert signer.ready == signer.pool_size and signer.inline_nonces == inline  # presses never waited


def test_hello_on_connect_and_status_heartbeat() -> None:
    rig = warm(in_state(S.CONNECTING))
    rig.board.battery_level = 87
    rig.board.heap = 51234
    status = topics.device(HALL, DEV, "status")
    rig.connect()
    health = [codec.decode(p) for t, p in rig.sent if t == status]
    assert [type(f) for f in health] == [frames.Hello]
    period = rig.kp.cfg["heartbeat_s"] * 1000
    rig.step(period // 2)
    assert len([t for t, _ in rig.sent if t == status]) == 1
    rig.step(period // 2)
    last = codec.decode([p for t, p in rig.sent if t == status][-1])
    assert isinstance(last, frames.Status)
    assert (last.battery, last.free_heap, last.rssi, last.firmware) == (87, 51234, -55, (1, 0, 0))
    assert last.uptime_s >= period // 1000
    rig.disconnect()
    n = len(rig.sent)
    rig.step(period * 3)
    assert rig.sent[n:] == []  # no heartbeats queued while offline


class FakeTask:
    def __init__(self) -> None:
        self.dead = False

    def done(self) -> bool:
        return self.dead


class FakeClient:
    def __init__(self, fail: bool = False) -> None:
        self.connected = self.opening = False
        self.connects = 0
        self.published: list[tuple[str, bytes]] = []
        self.fail = fail
        self.task = FakeTask()

    def start(self) -> FakeTask:
        self.connected = True
        self.connects = 1
        return self.task

    def post(self, topic: str, payload: bytes, qos: int = 0) -> None:
        if self.fail:
            raise OSError("link lost")
        self.published.append((topic, payload))

    async def close(self) -> None:
        self.connected = False


def _runner(fail: bool = False) -> tuple[Runner, FakeClient, SimClock]:
    clock = SimClock(manual=True)
    board = SimBoard(clock=clock, rng=seeded_rng(b"wdt"))
    board.nvs.set(config.NVS_SECRET, sg.generate_private_key(board.rng))
    kp = Keypad(board, config.load(None, {"hall": HALL, "device_id": DEV}))
    signer = kp.signer
    assert signer is not None
    while signer.pending:  # a keypad some seconds after boot: its nonce pool is full
        kp.step(clock.advance(1))
    client = FakeClient(fail)
    return Runner(kp, client), client, clock  # type: ignore[arg-type]


def test_watchdog_fed_only_by_a_healthy_loop() -> None:
    runner, client, clock = _runner()

    async def go() -> None:
        runner.kp.start()
        for _ in range(5):
            clock.advance(10)
            await runner.iteration()
        assert runner.feeds == 5 and runner.kp.state == S.IDLE and client.published  # hello
        real_step = runner.kp.step

        def slow_step(now: int, *a: Any) -> None:
            real_step(now, *a)
            clock.advance(runner.kp.cfg["stall_ms"] + 1)  # a driver that blocked

        runner.kp.step = slow_step  # type: ignore[method-assign]
        await runner.iteration()
        assert runner.feeds == 5 and runner.stalls == 1
        runner.kp.step = real_step  # type: ignore[method-assign]
        await runner.iteration()
        assert runner.feeds == 6
        client.task.dead = True  # the MQTT task crashed: let the watchdog reset the board
        await runner.iteration()
        assert runner.feeds == 6 and runner.stalls == 2
        assert runner.kp.board.watchdog.feeds == 6  # type: ignore[attr-defined]

    asyncio.run(go())


def test_link_loss_oserror_is_caught_in_the_outer_loop() -> None:
    runner, _client, clock = _runner(fail=True)

    async def go() -> None:
        task = asyncio.ensure_future(runner.run())
        for _ in range(200):
            if runner.link_errors >= 1 and runner.iterations >= 3:
                break
            clock.advance(10)
            await asyncio.sleep(0.005)
        await runner.stop()
        await task
        assert runner.link_errors >= 1 and runner.iterations >= 3 and not runner.running

    asyncio.run(go())


def test_config_local_override(tmp_path: Path) -> None:
    local = tmp_path / "hallvote_local.json"
    local.write_text(json.dumps({"device_id": "kp-0042", "heartbeat_s": 10}))
    cfg = config.load(str(local), {"heartbeat_s": 5})
    assert cfg["device_id"] == "kp-0042" and cfg["heartbeat_s"] == 5 and cfg["outbox_max"] == 8
    assert config.load(str(tmp_path / "missing.json"))["device_id"] == config.DEFAULTS["device_id"]
    local.write_text(json.dumps({"heartbaet_s": 10}))
    with pytest.raises(ValueError):
        config.load(str(local))


def test_checked_in_survives_a_reboot() -> None:
    rig = in_state(S.CHECKED_IN)
    kp = Keypad(rig.board, rig.kp.cfg)
    kp.start()
    kp.step(rig.clock.advance(10), True, 1)
    sitting = in_state(S.IDLE).kp.sitting
    kp.on_message(topics.broadcast(HALL, "sitting"), encode(sitting))
    kp.step(rig.clock.advance(10), True, 1)
    assert kp.state == S.CHECKED_IN and rig.board.leds.modes["checkin"] == "on"
    assert consts.CHECK_IN not in [codec.decode(p).TYPE for _t, p in kp.tx]


def test_main_builds_the_app_on_any_board() -> None:
    from firmware.app import main

    board = SimBoard(rng=seeded_rng(b"main"))
    runner = main.build(board, config.load(None, {"hall": HALL, "device_id": DEV, "ca_file": None}))
    assert runner.kp.board is board and runner.client.client_id == DEV
    assert runner.kp.state == S.BOOTING and runner.task is None  # nothing runs before run()
