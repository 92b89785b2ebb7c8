"""SerialRig end to end: keypads on serial lines (the real firmware behind a pty, speaking the bench test
channel) against the real broker and the real gateway process.

A small sitting: check-in (one deputy stays away), a resolution voted by key lines, results equal to the
presses made; each keypad's LEDs and display as reported over its serial line; a refused line gets its
reason; a power cycle (the board's reset) boots the firmware again, announces the test channel again and
the keypad comes back online.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hvtest.tools import need_executable

from firmware.app import states as S
from hil.rig.serial import SerialRig
from hil.rig.serialsim import SimSerialBoard
from protocol import consts

pytestmark = pytest.mark.mosquitto

RESOLUTION = {
    "title": "测试决议 / test resolution",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def test_a_small_sitting_through_serial_lines(tmp_path: Path) -> None:
    need_executable("mosquitto", extra_dirs=("/usr/sbin",), hint="apt-get install mosquitto")
    boards = [SimSerialBoard(tmp_path / f"board{i}") for i in range(3)]
    with SerialRig(tmp_path / "rig", boards) as r:
        gw = r.gateway
        assert gw is not None and r.broker is not None and r.broker.kind == "mosquitto"
        a, b, c = r.ids()
        for dev, kp in r.keypads.items():
            assert kp.hello is not None and kp.hello.startswith(f"hallvote-testchan 1 {dev} ")
            assert kp.port.startswith("/dev/") and kp.state == S.IDLE
            r.wait_led(dev, "status", "on")
        # a line the keypad refuses: a reason, nothing pressed
        r.press(a, "vote-twice")
        r.wait(lambda: r.keypads[a].errors == ["UNKNOWN_KEY vote-twice"], "the refusal")
        gw.call("POST", f"/sittings/{r.sitting_id}/checkin/open")
        for dev in (a, b, c):
            r.wait_display(dev, "请按签到键")
            assert r.keypads[dev].leds["checkin"] == "off"
        r.press(a, "checkin")
        r.press(b, "checkin")  # c stays away
        for dev in (a, b):
            r.wait_state(dev, S.CHECKED_IN)
            r.wait_led(dev, "checkin", "on")
        gw.call("POST", f"/sittings/{r.sitting_id}/start")
        motion = gw.call("POST", f"/sittings/{r.sitting_id}/motions", role="clerk", json=RESOLUTION)
        mid = motion["id"]
        gw.call("POST", f"/motions/{mid}/rounds/1/open")
        for dev in (a, b):
            r.wait_state(dev, S.MOTION_OPEN)
            r.wait_display(dev, "请表决")
        r.press(a, "yes")
        r.press(b, "no", hold_ms=200)  # held, then released: one press
        r.wait_state(a, S.RECORDED)
        r.wait_state(b, S.RECORDED)
        r.wait_led(a, "yes", "on")
        r.wait_led(b, "no", "on")
        r.wait_display(a, "已记录")
        assert r.keypads[c].state != S.RECORDED
        gw.call("POST", f"/motions/{mid}/rounds/1/close")
        result = gw.call("GET", f"/motions/{mid}/results")["rounds"][0]["result"]
        assert result["voted"] == 2 and result["present"] == 2 and result["expected"] == 3
        assert result["items"][0]["counts"] == [1, 1, 0]  # yes, no, abstain: the presses made
        # a reset: the firmware boots again, says H again, and shows the vote the gateway recorded
        hellos = sum(line.startswith("H ") for line in r.keypads[a].heard)
        r.power_cycle([a])
        r.wait(lambda: sum(line.startswith("H ") for line in r.keypads[a].heard) == hellos + 1, "a second H")
        r.wait_state(a, *S.ONLINE, timeout=60)
        assert r.faults[-1]["fault"] == "power_cycle"


def test_keypads_reach_the_broker_at_the_rigs_keypad_host(tmp_path: Path) -> None:
    """``keypad_host`` (a bench's LAN address; here 127.0.0.2, another loopback address): the broker's TLS
    listener binds it, keypads are configured with it and check it as the certificate's name."""
    need_executable("mosquitto", extra_dirs=("/usr/sbin",), hint="apt-get install mosquitto")
    with SerialRig(tmp_path / "rig", [SimSerialBoard(tmp_path / "board")], keypad_host="127.0.0.2") as r:
        assert r.broker is not None and r.gateway is not None
        (dev,) = r.ids()
        assert (r.broker.host, r.broker.server_hostname) == ("127.0.0.2", "127.0.0.2")
        conf = (tmp_path / "rig" / "broker" / "mosquitto.conf").read_text()
        assert f"listener {r.broker.port} 127.0.0.2" in conf
        r.gateway.call("POST", f"/sittings/{r.sitting_id}/checkin/open")
        r.wait_display(dev, "请按签到键")
        r.press(dev, "checkin")
        r.wait_state(dev, S.CHECKED_IN)  # the check-in went up and its ack came down through that listener
