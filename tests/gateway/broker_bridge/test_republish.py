"""Retained state survives a broker restart: the real gateway process republishes it on every reconnect.

Mosquitto runs without persistence (secret ballots), so a restart loses the
retained sitting and motion broadcasts; a keypad that connects afterwards
must still learn the open round.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hvtest.databases import fresh_database
from hvtest.gatewayproc import GatewayProcess, SimKeypad, free_port, wait_for, write_config
from hvtest.mosquitto import running_broker
from hvtest.seed import seed_hall

from gateway.db import init_db, make_engine
from protocol import codec, consts, frames

HALL = "county-hall"
MOTION = {
    "title": "关于本县2027年民生实事项目的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}

pytestmark = pytest.mark.mosquitto


def _types(kp: SimKeypad) -> list[frames.Frame]:
    with kp.lock:
        return [codec.decode(b) for b in kp.broadcasts]


def test_a_keypad_connecting_after_a_broker_restart_learns_the_open_round(tmp_path: Path) -> None:
    devices = ["kp-1", "kp-2", "kp-3", "kp-4"]
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_broker(tmp_path, hall=HALL, devices=devices) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=4)
        port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=port
        )
        log = tmp_path / "gateway.log"
        gw = GatewayProcess(config, port, log)
        early = [SimKeypad(broker, hall.keypads[d]) for d in ("kp-1", "kp-2", "kp-3")]
        late = SimKeypad(broker, hall.keypads["kp-4"])
        try:
            gw.start()
            sid = hall.sitting_id
            for kp in early:
                kp.connect()
            assert gw.api("POST", f"/sittings/{sid}/checkin/open").status_code == 200
            wait_for(lambda: any(f.TYPE == consts.SITTING_STATE for f in _types(early[0])))
            nonce = [f for f in _types(early[0]) if isinstance(f, frames.SittingState)][-1].sitting_nonce
            for kp in early:  # quorum: three of four
                counter = kp.send(kp.keypad.check_in(sid, nonce))
                wait_for(lambda kp=kp, c=counter: c in kp.replies)
            assert gw.api("POST", f"/sittings/{sid}/start").status_code == 200
            created = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=MOTION)
            assert created.status_code == 201, created.text
            motion_id = created.json()["id"]
            opened_call = gw.api("POST", f"/motions/{motion_id}/rounds/1/open")
            assert opened_call.status_code == 200, opened_call.text

            def republished() -> list[str]:
                return re.findall(r"republished (\d+) retained", log.read_text(errors="replace"))

            assert republished() == ["1"]  # the first connect: the sitting
            broker.restart()  # no persistence: every retained message is gone
            wait_for(lambda: len(republished()) == 2)
            assert republished()[1] == "2"  # the sitting and the open round
            late.connect()
            wait_for(lambda: any(f.TYPE == consts.MOTION_OPEN for f in _types(late)))
            opened = [f for f in _types(late) if isinstance(f, frames.MotionOpen)][-1]
            assert opened.motion_id == motion_id
            sitting = [f for f in _types(late) if isinstance(f, frames.SittingState)][-1]
            assert sitting.state == consts.SITTING_IN_SESSION
        finally:
            for kp in [*early, late]:
                kp.close()
            gw.stop()
            engine.dispose()
