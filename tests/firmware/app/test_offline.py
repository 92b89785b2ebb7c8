"""Presses while the link is down: signed and kept in a bounded queue (oldest dropped, counted),
sent unchanged when the link returns if their round is still open, dropped if it closed."""

from __future__ import annotations

from kpcontexts import MOTION, in_state

from firmware.app import states as S
from firmware.app.outbox import Entry, Outbox
from protocol import consts, frames, reasons, topics

ITEMS6 = MOTION.replace(  # type: ignore[attr-defined]
    motion_id=8, round_nonce=b"round-81", ballot_kind=consts.ITEM_LIST, item_count=6,
    press_policy=consts.FIRST_PRESS,
)  # fmt: skip
UP = topics.device("h1", "kp-1", "up")


def test_outbox_bound_and_drop_counter() -> None:
    box = Outbox(limit=3)
    for c in range(1, 6):
        box.add(Entry(c, "vote", bytes([c]), (1, 1), "yes", (1,)))
    assert [e.counter for e in box.entries] == [3, 4, 5] and box.dropped == 2
    assert box.remove(4) is not None and box.remove(4) is None and len(box) == 2


def test_retransmission_backs_off_to_a_cap() -> None:
    box = Outbox(limit=2, interval=1000, cap=5000)
    e = Entry(1, "vote", b"x", (1, 1), "yes", (1,))
    box.add(e)
    waits = []
    for _ in range(5):
        box.sending(e, 0)
        waits.append(e.wait)
    assert waits == [1000, 2000, 4000, 5000, 5000]


def test_press_while_offline_is_sent_when_the_link_returns() -> None:
    rig = in_state(S.OFFLINE)
    rig.press("abstain")
    assert rig.state == S.OFFLINE and rig.board.leds.modes["abstain"] == "blink"
    assert rig.uplinks()[-1].TYPE == consts.CHECK_IN  # nothing new on the wire
    assert rig.board.display.lines == ["离线", "待发送 1"]  # type: ignore[union-attr]
    kept = rig.kp.outbox.entries[0].frame
    rig.connect()
    rig.broadcast("motion", MOTION)  # retained: the round is still open
    assert rig.state == S.SENT
    rig.step(rig.kp.cfg["settle_ms"])
    assert [p for t, p in rig.sent if t == UP][-1] == kept  # the same signed bytes
    rig.ack_last()
    assert rig.state == S.RECORDED and rig.board.leds.modes["abstain"] == "on"


def test_press_while_offline_is_dropped_if_its_round_closed_meanwhile() -> None:
    rig = in_state(S.OFFLINE)
    rig.press("yes")
    before = len(rig.uplinks())
    rig.connect()
    rig.broadcast("motion", frames.MotionClosed(3, 1, b"round-31", 2000))  # retained, on reconnect
    rig.step(rig.kp.cfg["settle_ms"] * 10)
    assert len(rig.uplinks()) == before  # never sent
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.ROUND_CLOSED
    assert rig.board.display.lines == ["表决已止"]  # type: ignore[union-attr]
    rig.step(rig.kp.cfg["refusal_ms"])
    assert rig.state == S.CHECKED_IN


def test_offline_queue_is_bounded_with_a_drop_counter() -> None:
    rig = in_state(S.CHECKED_IN, outbox_max=3)
    rig.broadcast("motion", ITEMS6)
    rig.disconnect()
    for _ in range(5):  # five items, one confirm each: five frames kept
        rig.press("yes")
        rig.press("confirm")
    assert rig.state == S.OFFLINE
    assert len(rig.kp.outbox) == 3 and rig.kp.outbox.dropped == 2
    kept = [e.frame for e in rig.kp.outbox.entries]
    rig.connect()
    rig.step(rig.kp.cfg["settle_ms"])
    assert [p for t, p in rig.sent if t == UP][-3:] == kept  # the newest three, in order
    assert rig.state == S.SENT


def test_checkin_while_offline() -> None:
    rig = in_state(S.IDLE)
    rig.disconnect()
    rig.press("checkin")
    assert rig.state == S.OFFLINE and rig.board.leds.modes["checkin"] == "blink"
    rig.connect()
    rig.step(rig.kp.cfg["settle_ms"])
    assert rig.last_up().TYPE == consts.CHECK_IN
    rig.ack_last()
    assert rig.state == S.CHECKED_IN and rig.board.leds.modes["checkin"] == "on"


def test_wifi_loss_goes_offline_and_rejoins() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.board.wifi.drop()
    rig.board.wifi.refuse = True
    rig.step()
    assert rig.state == S.OFFLINE
    joins = rig.board.wifi.joins
    rig.step(rig.kp.cfg["wifi_retry_ms"])
    assert rig.board.wifi.joins == joins + 1  # tries again, on its schedule
    rig.board.wifi.refuse = False
    rig.step(rig.kp.cfg["wifi_retry_ms"])
    assert rig.board.wifi.connected() and rig.state == S.OFFLINE  # Wi-Fi alone is not online
    rig.connect()
    assert rig.state == S.MOTION_OPEN


def test_reconnect_missed_by_the_loop_still_resends() -> None:
    rig = in_state(S.SENT)
    sent = len(rig.uplinks())
    rig.connects += 1  # the client lost and regained the broker between two loop iterations
    rig.step()
    assert [h[1] for h in rig.kp.history[-2:]] == [S.MQTT_DOWN, S.MQTT_UP]
    rig.step(rig.kp.cfg["settle_ms"])
    assert len(rig.uplinks()) == sent + 1 and rig.state == S.SENT
