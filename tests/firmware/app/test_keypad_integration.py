"""The keypad firmware (under CPython, simulated board, the real firmware MQTT client over TLS)
against real Mosquitto (generated TLS + ACL config) and the real gateway process.

The keypad generates its key itself once Wi-Fi is up; the test reads the public key from the
app and registers it in the gateway's device table before the gateway starts (as provisioning
would).  The chair opens check-in and a last-press motion over the API; the simulated deputy
presses check-in and yes.  The keypad shows "recorded" only once the gateway's ack arrived.
Then the gateway process is stopped: a changed press shows "sent" and blinks, and is
retransmitted unchanged; when the gateway is started again it completes to "recorded", and the
gateway's result counts the changed choice.  Bounded waits only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hvtest.databases import fresh_database
from hvtest.gatewayproc import GatewayProcess, free_port, wait_for, write_config
from hvtest.mosquitto import MosquittoBroker, running_broker
from hvtest.seed import SeededHall, seed_hall
from sqlalchemy import Engine
from sqlmodel import Session

from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner, make_client
from firmware.hal.sim import SimBoard
from gateway.db import init_db, make_engine
from gateway.db import models as m
from protocol import consts

pytestmark = pytest.mark.mosquitto

HALL = "county-hall"
DEVICE = "kp-1"
WAIT = 30.0
MOTION = {
    "title": "关于县政府工作报告的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


class KeypadThread:
    """The firmware app's asyncio loop (runner + MQTT client) on its own thread."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="keypad", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.runner.run())
        except BaseException as e:  # surfaced by the test
            self.error = e

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.runner.request_stop)
            self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the keypad loop did not stop"
        self.loop.close()


@dataclass
class Rig:
    engine: Engine
    hall: SeededHall
    broker: MosquittoBroker
    gateway: GatewayProcess
    board: SimBoard
    kp: Keypad
    app: KeypadThread

    def until(self, pred: object, what: str) -> None:
        try:
            wait_for(lambda: self.app.error is not None or pred(), timeout=WAIT)  # type: ignore[operator]
        except TimeoutError:
            raise AssertionError(
                f"timed out waiting for {what}: state {self.kp.state}, history {self.kp.history[-8:]}"
            ) from None
        assert self.app.error is None, self.app.error

    def mode(self, led: str) -> str:
        return self.board.leds.modes[led]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=[DEVICE]) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=1)  # one deputy: quorum with one check-in
        api_port = free_port()
        gw = GatewayProcess(
            write_config(tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=api_port),
            api_port,
            tmp_path / "gateway.log",
        )
        board = SimBoard(display=True)
        cfg = config.load(
            None,
            {
                "hall": HALL,
                "device_id": DEVICE,
                "broker_host": broker.host,
                "broker_port": broker.port,
                "server_hostname": broker.server_hostname,
                "mqtt_password": broker.password(DEVICE),
                "ca_file": str(broker.ca_path),
                "keepalive": 10,
                "retransmit_ms": 300,
                "retransmit_max_ms": 1000,
            },
        )
        kp = Keypad(board, cfg)
        app = KeypadThread(Runner(kp, make_client(kp, backoff_base=0.05, backoff_cap=0.5)))
        r = Rig(engine, hall, broker, gw, board, kp, app)
        try:
            app.start()
            yield r
        finally:
            app.stop()
            gw.stop()
            engine.dispose()


def test_keypad_votes_through_broker_and_gateway(rig: Rig) -> None:
    kp, gw, sid = rig.kp, rig.gateway, rig.hall.sitting_id
    # The keypad joins Wi-Fi, generates its key, connects to the broker (no gateway yet).
    rig.until(lambda: kp.public_key() is not None and kp.state == S.IDLE, "the keypad online")
    assert rig.board.display is not None and rig.board.display.lines == ["会议未开"]
    public_key = kp.public_key()
    with Session(rig.engine) as s:  # provisioning's job: register the key the device made
        device = s.get(m.Device, DEVICE)
        assert device is not None
        device.public_key = public_key  # type: ignore[assignment]
        s.add(device)
        s.commit()
    gw.start()

    assert gw.api("POST", f"/sittings/{sid}/checkin/open").status_code == 200
    rig.until(lambda: kp.sitting is not None and kp.sitting.state == consts.SITTING_CHECKIN_OPEN, "check-in open")
    rig.board.press("checkin")
    rig.until(lambda: kp.state == S.CHECKED_IN, "checked in")
    assert rig.mode("checkin") == "on" and rig.board.display.lines[0] == "已签到 A-1"

    assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200
    created = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=MOTION)
    assert created.status_code == 201, created.text
    motion_id = created.json()["id"]
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/open").status_code == 200
    rig.until(lambda: kp.state == S.MOTION_OPEN, "the motion open on the keypad")

    rig.board.press("yes")
    rig.until(lambda: kp.state == S.RECORDED, "recorded")
    assert rig.mode("yes") == "on" and rig.mode("recorded") == "on"
    assert rig.board.display.lines == ["已记录", "赞成"]
    into_recorded = [h for h in kp.history if h[2] == S.RECORDED]
    assert into_recorded and all(h[:2] == (S.SENT, S.ACK) for h in into_recorded)  # only an ack records

    # The gateway goes away; the deputy changes the vote (last press counts).
    gw.stop()
    rig.board.press("no")
    rig.until(lambda: kp.state == S.SENT, "sent")
    assert rig.mode("no") == "blink" and rig.mode("yes") == "off" and rig.mode("recorded") == "off"
    entry = kp.outbox.entries[0]
    rig.until(lambda: entry.tries >= 3, "retransmissions while the gateway is down")
    assert kp.state == S.SENT and rig.mode("no") == "blink"  # still not recorded

    gw.start()
    rig.until(lambda: kp.state == S.RECORDED, "recorded after the gateway returned")
    assert rig.mode("no") == "on" and rig.mode("recorded") == "on"
    assert rig.board.display.lines == ["已记录", "反对"]

    # The gateway counted the changed press once.
    assert gw.api("POST", f"/motions/{motion_id}/rounds/1/close").status_code == 200
    results = gw.api("GET", f"/motions/{motion_id}/results").json()
    counts = results["rounds"][0]["result"]["items"][0]["counts"]
    assert counts == [0, 1, 0]
    rig.until(lambda: kp.state == S.CHECKED_IN, "the round closed on the keypad")

    # The status heartbeat reaches the gateway: the device's health is on record.
    kp.cfg["heartbeat_s"] = 1  # (kept at the default above: fewer writes racing the chair's calls)

    def health() -> bool:
        with Session(rig.engine) as s:
            device = s.get(m.Device, DEVICE)
            return device is not None and device.last_seen is not None and device.rssi == -55

    rig.until(health, "the keypad's status on record")
