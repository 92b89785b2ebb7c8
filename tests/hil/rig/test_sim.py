"""SimRig through the real parts: firmware app on simulated boards, Mosquitto, the gateway process, SQLite.

A keypad cut off by the network shows its press as sent, never recorded,
until the gateway's ack arrives; a power cycle keeps NVS (key, boot count,
check-in); a small town sitting with a gateway SIGKILL, a broker restart,
a partition and a power cycle still gives the model's results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from firmware.app import config
from firmware.app import states as S
from hil.rig import SimRig
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import Fault, resized
from protocol import consts

pytestmark = pytest.mark.mosquitto

RESOLUTION = {
    "title": "测试决议 / test resolution",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def _into_session(r: SimRig) -> int:
    gw = r.gateway
    assert gw is not None
    gw.call("POST", f"/sittings/{r.sitting_id}/checkin/open")
    r.wait(lambda: all(k.app is not None and k.app.sitting is not None
                       and k.app.sitting.state == consts.SITTING_CHECKIN_OPEN for k in r.keypads.values()), "check-in")  # fmt: skip
    for d in r.ids():
        r.press(d, "checkin")
    r.wait(lambda: all(k.state == S.CHECKED_IN for k in r.keypads.values()), "checked in")
    gw.call("POST", f"/sittings/{r.sitting_id}/start")
    motion = gw.call("POST", f"/sittings/{r.sitting_id}/motions", role="clerk", json=RESOLUTION)
    gw.call("POST", f"/motions/{motion['id']}/rounds/1/open")
    r.wait(lambda: all(k.state == S.MOTION_OPEN for k in r.keypads.values()), "motion open")
    return int(motion["id"])


def test_partitioned_press_is_sent_never_recorded_until_acked(rig: Callable[..., SimRig]) -> None:
    r = rig(3)
    mid = _into_session(r)
    cut = r.keypad(1)
    r.partition([cut.device_id], 4.0)
    r.press(cut.device_id, "no")
    r.press(r.keypad(2).device_id, "yes")
    r.wait(lambda: r.keypad(2).state == S.RECORDED, "the connected keypad recorded")
    seen: list[str] = []
    r.wait(
        lambda: seen.append(cut.state) or cut.state == S.RECORDED,
        "the cut keypad recorded after the partition",
        60,
    )
    # While cut off it showed "sent" (the link not yet known lost) or "offline"
    # (the press kept in the outbox, firmware/app/states.py rule 4), never "recorded" ...
    before = seen[: seen.index(S.RECORDED)]
    assert before and set(before) <= {S.SENT, S.OFFLINE}, seen
    assert cut.board.leds.modes["recorded"] == "on" and cut.board.display is not None
    assert cut.board.display.lines[0] == "已记录"
    gw = r.gateway
    assert gw is not None
    gw.call("POST", f"/motions/{mid}/rounds/1/close")
    result = gw.call("GET", f"/motions/{mid}/results")["rounds"][0]["result"]
    assert result["items"][0]["counts"] == [1, 1, 0] and result["voted"] == 2  # ... and was counted once
    link = r.fleet.proxy.links[cut.device_id] if r.fleet and r.fleet.proxy else None
    assert link is not None and link.resets + link.refused >= 1


def test_power_cycle_keeps_nvs_and_the_check_in(rig: Callable[..., SimRig]) -> None:
    r = rig(3)
    _into_session(r)
    kp = r.keypad(2)
    secret = kp.board.nvs.get(config.NVS_SECRET)
    boots = int.from_bytes(kp.board.nvs.get(config.NVS_BOOTS) or b"\0", "big")
    old_board = kp.board
    r.power_cycle([kp.device_id], 0.2)
    assert kp.board is not old_board and kp.boots == 2  # RAM (the board object) is gone ...
    assert kp.board.nvs.get(config.NVS_SECRET) == secret  # ... NVS kept
    assert int.from_bytes(kp.board.nvs.get(config.NVS_BOOTS) or b"\0", "big") == boots + 1
    r.wait(lambda: kp.state == S.MOTION_OPEN, "back online, checked in, the motion open")
    r.press(kp.device_id, "abstain")
    r.wait(lambda: kp.state == S.RECORDED, "its press recorded after the reboot")


def test_town_sitting_with_faults_matches_the_model(rig: Callable[..., SimRig]) -> None:
    s = resized(load("town"), 10)
    s = replace(
        s,
        faults=(
            Fault("kill_gateway", "budget", 0.5, seconds=0.5),
            Fault("power_cycle", "budget", 0.3, keypads=1, seconds=0.2),
            Fault("partition", "projects", 0.2, keypads=3, seconds=3),
            Fault("restart_broker", "projects", 0.6, seconds=0.5),
        ),
    )
    r = rig(s.seats, seed_value=s.seed)
    report = Runner(r, plan(s), speed=0.0, show_progress=False).run()
    assert [f["verb"] for f in report["faults"]] == [
        "power_cycle",
        "kill_gateway",
        "partition",
        "restart_broker",
    ]
    assert report["ok"], report
    assert all(step["match"] for step in report["steps"]) and len(report["steps"]) == 3


def test_runner_reports_a_result_that_differs_from_the_model(rig: Callable[..., SimRig]) -> None:
    s = resized(load("demo"), 3)
    s = replace(s, motions=s.motions[:1])
    p = plan(s)
    p.results["resolution"].counts[0][0] += 1  # a model that disagrees with what the deputies pressed
    r = rig(s.seats, seed_value=s.seed)
    report = Runner(r, p, speed=0.0, show_progress=False).run()
    step = next(st for st in report["steps"] if st["step"] == "resolution")
    assert report["ok"] is False and step["match"] is False
    assert step["actual"]["counts"][0][0] == step["expected"]["counts"][0][0] - 1
