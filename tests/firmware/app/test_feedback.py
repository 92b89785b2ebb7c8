"""What the deputy sees: the pressed key blinks until the gateway's ack, then stays lit;
"recorded" only on an ack; secret rounds give nothing a neighbour can read."""

from __future__ import annotations

import kpcontexts as ctx
from kpcontexts import MOTION, Rig, in_state

from firmware.app import states as S
from protocol import consts, frames, reasons

SECRET = MOTION.replace(flags=consts.FLAG_SECRET)  # type: ignore[attr-defined]
VOTE_KEYS = ("yes", "no", "abstain")


def vote_leds(rig: Rig) -> dict[str, str]:
    return {k: rig.board.leds.modes[k] for k in (*VOTE_KEYS, "recorded")}


def test_checkin_led_blinks_until_acked_then_stays_lit() -> None:
    rig = in_state(S.IDLE)
    assert rig.board.leds.modes["checkin"] == "off"
    assert rig.board.display.lines == ["请按签到键", "应到5 实到1"]  # type: ignore[union-attr]
    rig.press("checkin")
    assert rig.state == S.SENT and rig.board.leds.modes["checkin"] == "blink"
    rig.ack_last(seat="A-7")
    assert rig.state == S.CHECKED_IN and rig.board.leds.modes["checkin"] == "on"
    assert rig.board.display.lines[0] == "已签到 A-7"  # type: ignore[union-attr]


def test_named_vote_blinks_while_unacked_and_is_lit_after_the_ack() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.press("no")
    assert vote_leds(rig) == {"yes": "off", "no": "blink", "abstain": "off", "recorded": "off"}
    assert rig.board.display.lines == ["发送中", "反对"]  # type: ignore[union-attr]
    for _ in range(5):  # retransmissions, no answer: never "recorded"
        rig.step(20_000)
        assert rig.state == S.SENT and vote_leds(rig)["recorded"] == "off"
    rig.ack_last()
    assert rig.state == S.RECORDED
    assert vote_leds(rig) == {"yes": "off", "no": "on", "abstain": "off", "recorded": "on"}
    assert rig.board.display.lines == ["已记录", "反对"]  # type: ignore[union-attr]


def test_named_ack_shows_what_the_gateway_recorded() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.press("yes")
    rig.ack_last(choices=(consts.ABSTAIN,))  # the gateway's word wins on a named vote
    assert vote_leds(rig)["abstain"] == "on" and rig.board.display.lines == ["已记录", "弃权"]  # type: ignore[union-attr]


def test_refusal_shows_the_reason_then_returns() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.press("yes")
    rig.nack_last(reasons.FIRST_PRESS_FINAL)
    assert rig.state == S.REFUSED and rig.board.display.lines == ["不可更改"]  # type: ignore[union-attr]
    assert vote_leds(rig)["yes"] == "off"
    rig.step(rig.kp.cfg["refusal_ms"])
    assert rig.state == S.RECORDED  # FIRST_PRESS_FINAL: an earlier press was recorded
    assert vote_leds(rig)["recorded"] == "on"


def _secret_trace(key: str) -> list[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]]:
    rig = in_state(S.CHECKED_IN)
    rig.broadcast("motion", SECRET)
    trace = []

    def snap() -> None:
        leds = tuple(sorted(rig.board.leds.modes.items()))
        trace.append((rig.state, leds, tuple(rig.board.display.lines)))  # type: ignore[union-attr]

    snap()
    rig.press(key)
    snap()
    rig.step(20_000)  # a retransmission
    snap()
    rig.ack_last(choices=())  # secret: the gateway withholds the choice
    snap()
    return trace


def test_secret_feedback_is_the_same_whatever_was_pressed() -> None:
    traces = {key: _secret_trace(key) for key in VOTE_KEYS}
    assert traces["yes"] == traces["no"] == traces["abstain"]
    _before, pressed, _retx, recorded = traces["yes"]
    assert pressed[0] == S.SENT and recorded[0] == S.RECORDED
    leds = dict(pressed[1])
    assert [leds[k] for k in VOTE_KEYS] == ["blink"] * 3  # all alike while unacked
    leds = dict(recorded[1])
    assert [leds[k] for k in VOTE_KEYS] == ["off"] * 3 and leds["recorded"] == "on"  # one light
    assert recorded[2] == ("已记录",) and pressed[2] == ("发送中",)  # no choice on the display


def test_secret_choice_on_display_only_when_configured() -> None:
    rig = in_state(S.CHECKED_IN, secret_show_choice=True)
    rig.broadcast("motion", SECRET)
    rig.press("no")
    assert rig.board.display.lines == ["发送中", "反对"]  # type: ignore[union-attr]
    assert [rig.board.leds.modes[k] for k in VOTE_KEYS] == ["blink"] * 3  # LEDs stay neutral


def test_status_led_follows_the_link() -> None:
    rig = Rig()
    assert rig.board.leds.modes["status"] == "off"
    rig.boot()
    assert rig.state == S.CONNECTING and rig.board.leds.modes["status"] == "blink"
    rig.connect()
    assert rig.board.leds.modes["status"] == "on"
    rig.disconnect()
    assert rig.state == S.OFFLINE and rig.board.leds.modes["status"] == "blink"
    assert rig.board.display.lines == ["离线"]  # type: ignore[union-attr]


def test_result_on_the_display() -> None:
    rig = in_state(S.RECORDED)
    rig.broadcast("motion", frames.MotionClosed(3, 1, b"round-31", 2000))
    rig.broadcast("result", ctx.event_arg(rig, S.RESULT))
    assert rig.state == S.CHECKED_IN
    assert rig.board.display.lines == ["已签到 A-1", "应到5 实到1", "通过", "赞成2 反对0 弃权0"]  # type: ignore[union-attr]


def test_three_key_keypad_has_no_display_and_uses_leds_only() -> None:
    rig = in_state(S.RECORDED, display=False)
    assert rig.board.display is None
    assert vote_leds(rig) == {"yes": "on", "no": "off", "abstain": "off", "recorded": "on"}
