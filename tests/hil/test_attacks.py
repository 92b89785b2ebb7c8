"""Attacks through the real broker while a round is open: every one refused, the tally only the deputies' presses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware.app import states as S
from hil.attacks import replay_and_flood, run_attacks
from hil.rig import SimRig
from protocol import codec, consts, frames

pytestmark = pytest.mark.mosquitto

RESOLUTION = {
    "title": "攻击测试 / attack test",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": True,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def test_attacks_are_refused_and_change_no_tally(rig: Callable[..., SimRig]) -> None:
    r = rig(4)
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
    nonce = bytes.fromhex(gw.call("GET", f"/motions/{motion['id']}")["rounds"][0]["nonce"])
    rows = {row["attack"]: row for row in run_attacks(r, motion["id"], nonce)}
    assert rows and all(row["accepted"] == 0 for row in rows.values()), rows
    assert rows["connect without credentials"]["outcome"].startswith("refused")
    assert rows["connect with a wrong password"]["outcome"].startswith("refused")
    assert rows["plain TCP on the TLS port"]["outcome"] == "no CONNACK"
    assert rows["frame signed with another key"]["outcome"] == "nack BAD_SIGNATURE"
    assert rows["malformed: truncated frame"]["outcome"] == "nack MALFORMED"
    for d in r.ids()[1:]:  # the deputies vote (kp-0001's session was taken over: it reconnects by itself)
        r.press(d, "yes")
    r.wait(
        lambda: all(r.keypads[d].state == S.RECORDED for d in r.ids()[1:]), "the deputies' votes recorded", 90
    )
    deputy = r.ids()[1]
    frame = next(
        raw for raw in reversed(r.keypads[deputy].sent) if isinstance(codec.decode(raw), frames.Vote)
    )
    more = {row["attack"]: row for row in replay_and_flood(r, deputy, frame, 40, motion["id"], nonce)}
    replay = more["replay of a counted vote"]
    assert replay["accepted"] == 0 and replay["outcome"] == "ack ALREADY_RECORDED", (
        replay
    )  # re-acked, not counted again
    flood = more["flood: 40 forged frames from one account"]
    assert flood["tried"] == 40 and flood["accepted"] == 0, flood
    r.wait(lambda: r.keypads[deputy].state in S.ONLINE, "the deputy's keypad back")
    gw.call("POST", f"/motions/{motion['id']}/rounds/1/close")
    result = gw.call("GET", f"/motions/{motion['id']}/results")["rounds"][0]["result"]
    assert result["items"][0]["counts"] == [3, 0, 0] and result["voted"] == 3  # only the deputies' presses
