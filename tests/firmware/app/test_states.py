"""The keypad state machine: every (state, event) pair of the table, restated here independently.

* test_table_cells: the table's (next, action) for all 10 x 22 pairs equals
  the rules of ``states.py``'s docstring as this test writes them down.
* test_derive: RESUME's rule, over every combination of its inputs.
* test_walk_every_pair: a keypad brought into each state through real
  inputs (key presses on the simulated board, encoded broadcasts and gateway
  answers) gets each event with the argument the classifier would give; the
  concrete state it lands in is the one listed here.
"""

from __future__ import annotations

import itertools

import kpcontexts as ctx
import pytest

from firmware.app import states as S

PRE_LINK = (S.BOOTING, S.JOINING, S.CONNECTING)
ONLINE = (S.IDLE, S.CHECKED_IN, S.MOTION_OPEN, S.SENT, S.RECORDED, S.REFUSED)
FACT_ACTIONS = {
    S.SITTING_NEW: "new_sitting",
    S.SITTING_UPDATE: "update_sitting",
    S.SITTING_CLOSED: "close_sitting",
    S.MOTION_OPENED: "open_round",
    S.MOTION_UPDATE: "update_round",
    S.MOTION_CLOSED: "close_round",
    S.RESULT: "show_result",
    S.ACK: "acked",
    S.NACK: "refused",
    S.NACK_BUSY: "busy",
}


def expected_cell(state: str, event: str) -> tuple[str, str | None]:
    """The rules, written out again."""
    if event == S.DISPLAY_TIMEOUT:  # a refusal shown long enough is cleared everywhere
        return (S.RESUME if state == S.REFUSED else S.SAME), "clear_refusal"
    if event in FACT_ACTIONS:  # broadcasts and answers update knowledge in every state
        action = FACT_ACTIONS[event]
        if state not in ONLINE:
            return S.SAME, action
        fixed = {
            S.SITTING_UPDATE: (S.SAME, "update_sitting"),
            S.SITTING_CLOSED: (S.IDLE, "close_sitting"),
            S.RESULT: (S.SAME, "show_result"),
            S.NACK: (S.REFUSED, "refused"),
            S.NACK_BUSY: (S.SAME, "busy"),
        }
        return fixed.get(event, (S.RESUME, action))
    if state == S.BOOTING:
        return (S.JOINING, "boot") if event == S.BOOTED else (S.SAME, None)
    if state == S.JOINING:
        return {S.WIFI_UP: (S.CONNECTING, "wifi_up"), S.MQTT_UP: (S.RESUME, "online")}.get(event, (S.SAME, None))
    if state == S.CONNECTING:
        return {S.WIFI_DOWN: (S.JOINING, None), S.MQTT_UP: (S.RESUME, "online")}.get(event, (S.SAME, None))
    if state == S.OFFLINE:  # presses are signed and kept; nothing is sent
        return {
            S.MQTT_UP: (S.RESUME, "online"),
            S.KEY_CHECKIN: (S.SAME, "send_checkin"),
            S.KEY_VOTE: (S.SAME, "send_vote"),
            S.KEY_NAV: (S.SAME, "redraw"),
            S.KEY_DENIED: (S.SAME, "deny"),
        }.get(event, (S.SAME, None))
    # online states
    if event in (S.WIFI_DOWN, S.MQTT_DOWN):
        return S.OFFLINE, "link_down"
    if event == S.MQTT_UP:
        return S.RESUME, "online"
    if event == S.KEY_CHECKIN:
        return (S.SENT, "send_checkin") if state in (S.IDLE, S.REFUSED) else (S.SAME, None)
    if event == S.KEY_VOTE:
        ok = state in (S.MOTION_OPEN, S.SENT, S.RECORDED, S.REFUSED)
        return (S.SENT, "send_vote") if ok else (S.SAME, None)
    return {
        S.KEY_NAV: (S.SAME, "redraw"),
        S.KEY_DENIED: (S.REFUSED, "deny"),
        S.RETRANSMIT: (S.SAME, "retransmit"),
        S.HEARTBEAT: (S.SAME, "heartbeat"),
    }.get(event, (S.SAME, None))


def test_table_is_total_and_names_real_actions() -> None:
    assert set(S.TABLE) == set(S.STATES)
    assert len(S.STATES) == 10 and len(S.EVENTS) == 22 == len(set(S.EVENTS))
    for state in S.STATES:
        assert set(S.TABLE[state]) == set(S.EVENTS), state
        for nxt, action in S.TABLE[state].values():
            assert nxt in S.STATES or nxt in (S.SAME, S.RESUME)
            assert action is None or action in S.ACTIONS, action


def test_the_keypad_runs_every_action_and_refuses_an_unknown_one() -> None:
    """Keypad._do runs the table's actions (the walk below reaches every cell, so every action,
    on CPython and on MicroPython) and raises for a name it does not handle: none is skipped."""
    rig = ctx.in_state(S.IDLE)
    with pytest.raises(ValueError, match="no_such_action"):
        rig.kp._do("no_such_action", None)
    reached = {action for row in S.TABLE.values() for _, action in row.values()} - {None}
    assert reached == set(S.ACTIONS)


def test_table_is_the_packed_table() -> None:
    assert S.table() == S.TABLE
    assert len(S.ACTIONS) == len(set(S.ACTIONS))
    used = {action for row in S.TABLE.values() for _, action in row.values()}
    assert used - {None} == set(S.ACTIONS)  # every action is used, none is missing


@pytest.mark.parametrize("state", S.STATES)
def test_table_cells(state: str) -> None:
    for event in S.EVENTS:
        assert S.transition(state, event) == expected_cell(state, event), (state, event)


def test_transition_refuses_unknown_names() -> None:
    with pytest.raises(KeyError):
        S.transition("dancing", S.ACK)
    with pytest.raises(KeyError):
        S.transition(S.IDLE, "sneeze")


def test_derive() -> None:
    for refusal, unanswered, checked_in, round_open, recorded in itertools.product((False, True), repeat=5):
        if refusal:
            want = S.REFUSED
        elif unanswered:
            want = S.SENT
        elif not checked_in:
            want = S.IDLE
        elif round_open and recorded:
            want = S.RECORDED
        elif round_open:
            want = S.MOTION_OPEN
        else:
            want = S.CHECKED_IN
        assert S.derive(refusal, unanswered, checked_in, round_open, recorded) == want


# The concrete state each pair lands in, from the representative contexts of kpcontexts.in_state:
# idle = sitting 7 in check-in, not checked in; checked_in = checked in, no round; motion_open =
# round (3, 1) open, yes/no/abstain, last press, named; sent = yes pressed, unanswered; recorded = yes
# acked; refused = a vote nacked WRONG_BALLOT; offline = motion_open and the link lost.
def _row(default: str, **cells: str) -> dict[str, str]:
    row = dict.fromkeys(S.EVENTS, default)
    row.update(cells)
    return row


_LINK_LOSS = {"wifi_down": S.OFFLINE, "mqtt_down": S.OFFLINE}
# fmt: off
WALK = {
    S.BOOTING: _row(S.BOOTING, booted=S.JOINING),
    S.JOINING: _row(S.JOINING, wifi_up=S.CONNECTING, mqtt_up=S.IDLE),
    S.CONNECTING: _row(S.CONNECTING, wifi_down=S.JOINING, mqtt_up=S.IDLE),
    S.IDLE: _row(S.IDLE, **_LINK_LOSS, key_checkin=S.SENT, key_denied=S.REFUSED, nack=S.REFUSED),
    S.CHECKED_IN: _row(
        S.CHECKED_IN, **_LINK_LOSS, key_denied=S.REFUSED, nack=S.REFUSED,
        sitting_new=S.IDLE, sitting_closed=S.IDLE, motion_open=S.MOTION_OPEN,
    ),
    S.MOTION_OPEN: _row(
        S.MOTION_OPEN, **_LINK_LOSS, key_vote=S.SENT, key_denied=S.REFUSED, nack=S.REFUSED,
        sitting_new=S.IDLE, sitting_closed=S.IDLE, motion_closed=S.CHECKED_IN,
    ),
    S.SENT: _row(
        S.SENT, **_LINK_LOSS, key_denied=S.REFUSED, nack=S.REFUSED, ack=S.RECORDED,
        sitting_closed=S.IDLE,  # the sitting's frames are void
        motion_open=S.MOTION_OPEN,  # a new round ends the old: its unanswered vote is dropped
        motion_closed=S.REFUSED,  # pressed, never acknowledged, round closed: shows ROUND_CLOSED
    ),
    S.RECORDED: _row(
        S.RECORDED, **_LINK_LOSS, key_vote=S.SENT, key_denied=S.REFUSED, nack=S.REFUSED,
        sitting_new=S.IDLE, sitting_closed=S.IDLE, motion_open=S.MOTION_OPEN, motion_closed=S.CHECKED_IN,
    ),
    S.REFUSED: _row(
        S.REFUSED, **_LINK_LOSS, key_checkin=S.SENT, key_vote=S.SENT,
        mqtt_up=S.MOTION_OPEN, ack=S.MOTION_OPEN, display_timeout=S.MOTION_OPEN,
        sitting_new=S.IDLE, sitting_closed=S.IDLE, motion_open=S.MOTION_OPEN,
    ),
    S.OFFLINE: _row(S.OFFLINE, mqtt_up=S.MOTION_OPEN),
}
# fmt: on


def test_contexts_reach_every_state() -> None:
    for state in S.STATES:
        assert ctx.in_state(state).state == state


@pytest.mark.parametrize("state", S.STATES)
def test_walk_every_pair(state: str) -> None:
    assert ctx.walk([state], S.EVENTS)[state] == WALK[state]


def test_walk_side_effects_worth_naming() -> None:
    rig = ctx.in_state(S.SENT)
    rig.kp.dispatch(S.MOTION_CLOSED, ctx.event_arg(rig, S.MOTION_CLOSED))
    assert rig.kp.refusal == ctx.reasons.ROUND_CLOSED and len(rig.kp.outbox) == 0
    rig = ctx.in_state(S.SENT)
    before = len(rig.kp.outbox)
    rig.kp.dispatch(S.NACK_BUSY, ctx.event_arg(rig, S.NACK_BUSY))
    assert len(rig.kp.outbox) == before == 1  # BUSY: nothing recorded, keep the frame
    rig = ctx.in_state(S.OFFLINE)
    rig.kp.dispatch(S.KEY_VOTE, (ctx.consts.NO,))
    assert len(rig.kp.outbox) == 1 and rig.kp.tx == []  # kept, not sent
