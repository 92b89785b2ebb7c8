"""The ``gateway`` section of protocol/vectors.json, run through the real decision code.

Each scenario starts from the hall the vectors describe (every keypad with
the public test key) and replays its steps: chair steps through
:mod:`gateway.core.commands`, uplink frames through ``decide``; every reply
must be byte-for-byte the one SPEC.md's vectors give.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.core import commands
from gateway.core.apply import apply_all
from gateway.core.decide import Inbound, decide
from gateway.core.state import DeviceEntry, HallState, MotionSpec, SittingRun
from gateway.rules import CONGRESS_RESOLUTION, STANDING_COMMITTEE_QUORUM
from protocol import codec

VECTORS = json.loads((Path(__file__).resolve().parents[3] / "protocol" / "vectors.json").read_text("utf-8"))
SECTION = VECTORS["gateway"]


def _hall() -> HallState:
    hall = SECTION["hall"]
    public = bytes.fromhex(VECTORS["test_key"]["public_sec1"])
    state = HallState("county-hall")
    for m in hall["members"]:
        state.devices[m["device"]] = DeviceEntry(m["device"], public, seat=m["seat"])
    for spare in hall["spares"]:
        state.devices[spare] = DeviceEntry(spare, public)
    state.sitting = SittingRun(
        sitting_id=hall["sitting_id"],
        nonce=bytes.fromhex(hall["sitting_nonce"]),
        quorum_rule=STANDING_COMMITTEE_QUORUM,
        roster=frozenset(m["member"] for m in hall["members"]),
        seat_map={m["seat"]: m["member"] for m in hall["members"]},
        cards={m["member"]: bytes.fromhex(m["card"]) for m in hall["members"] if m["card"]},
        readerless_checkin=hall["readerless_checkin"],
    )
    for m in hall["motions"]:
        spec = MotionSpec(
            m["motion_id"], f"motion {m['motion_id']}", m["ballot_kind"], m["item_count"], m["options"],
            m["press_policy"], m["secret"], CONGRESS_RESOLUTION,
        )  # fmt: skip
        apply_all(state, commands.add_motion(state, spec, nonce=bytes.fromhex(m["round_nonce"]), at=1.0))
    return state


def _chair(state: HallState, step: dict[str, Any], at: float) -> None:
    action = step["chair"]
    key = (step.get("motion_id", 0), 1)
    if action == "open_checkin":
        events = commands.open_checkin(state, at=at)
    elif action == "start_session":
        events = commands.start_session(state, at=at)
    elif action == "open_round":
        events = commands.open_round(state, key, at=at)[0]
    elif action == "pause_round":
        events = commands.pause_round(state, key, at=at)
    elif action == "close_round":
        events = commands.close_round(state, key, at=at)
    elif action == "focus":
        events = commands.focus_item(state, key, step["item"], at=at)
    else:
        raise AssertionError(f"unknown chair step {action}")
    apply_all(state, events)


@pytest.mark.parametrize("scenario", SECTION["scenarios"], ids=[s["name"] for s in SECTION["scenarios"]])
def test_gateway_answers_as_the_vectors_say(scenario: dict[str, Any]) -> None:
    state = _hall()
    for at, step in enumerate(scenario["steps"], start=10):
        if "chair" in step:
            _chair(state, step, float(at))
            continue
        if step.get("technician") == "swap":  # what hallvote device swap leaves the gateway with
            old = next(d for d in state.devices.values() if d.seat == step["seat"] and not d.revoked)
            old.revoked = True
            state.devices[step["to"]].seat = step["seat"]
            continue
        decision = decide(
            state, Inbound(step["device"], step["channel"], bytes.fromhex(step["hex"]), float(at))
        )
        apply_all(state, decision.events)
        assert codec.encode(decision.reply).hex() == step["reply_hex"], (step, decision.reply)


def test_every_decision_the_spec_names_has_a_vector() -> None:
    replies = {
        (step["reply"]["type"], step["reply"]["fields"]["reason"])
        for s in SECTION["scenarios"]
        for step in s["steps"]
        if "reply" in step
    }
    from protocol import reasons

    for name in (
        "ALREADY_RECORDED", "REPLACED", "ALREADY_CHECKED_IN", "STALE_COUNTER", "CARD_MISMATCH", "NOT_CHECKED_IN",
        "MOTION_NOT_OPEN", "WRONG_ROUND", "ROUND_PAUSED", "ROUND_CLOSED", "WRONG_BALLOT", "FIRST_PRESS_FINAL",
        "BAD_VERSION", "UNKNOWN_TYPE", "DEVICE_MISMATCH", "UNKNOWN_DEVICE", "MALFORMED", "DEVICE_REVOKED",
    ):  # fmt: skip
        code = reasons.code_of(name)
        kind = "nack" if reasons.is_refusal(code) else "ack"
        assert (kind, code) in replies, name
