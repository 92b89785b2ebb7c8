"""Ballots from key presses: item lists and ratings navigated on display keypads, the chair's
focus item on three-key keypads, local refusals, press policies."""

from __future__ import annotations

from kpcontexts import MOTION, Rig, in_state

from firmware.app import states as S
from protocol import consts, frames, reasons


def motion(**changes: object) -> frames.MotionOpen:
    return MOTION.replace(**changes)  # type: ignore[return-value]


ITEMS5 = motion(motion_id=8, round_nonce=b"round-81", ballot_kind=consts.ITEM_LIST, item_count=5)
RATING3 = motion(motion_id=9, round_nonce=b"round-91", ballot_kind=consts.RATING, item_count=3, options=0x1E)


def voting(m: frames.MotionOpen, display: bool = True, **cfg: object) -> Rig:
    rig = in_state(S.CHECKED_IN, display=display, **cfg)
    rig.broadcast("motion", m)
    assert rig.state == S.MOTION_OPEN
    return rig


def votes(rig: Rig) -> list[frames.Vote]:
    return [f for f in rig.uplinks() if isinstance(f, frames.Vote)]


def test_item_list_navigated_on_a_display_keypad() -> None:
    rig = voting(ITEMS5)
    assert rig.board.display.lines == ["请表决", "第1项"]  # type: ignore[union-attr]
    rig.press("yes")  # item 1 yes, moves on to item 2
    assert rig.state == S.MOTION_OPEN and rig.board.display.lines == ["请表决", "第2项"]  # type: ignore[union-attr]
    rig.press("no")
    rig.press("down")  # skip item 4
    rig.press("abstain")
    rig.press("up")  # back to item 4
    assert rig.board.display.lines == ["请表决", "第4项 弃权"]  # type: ignore[union-attr]
    rig.press("down")
    rig.press("down")  # past the last item: back to the first
    assert rig.board.display.lines == ["请表决", "第1项 赞成"]  # type: ignore[union-attr]
    assert votes(rig) == []  # nothing is sent before confirm
    rig.press("confirm")
    assert rig.state == S.SENT
    assert votes(rig)[-1].choices == (1, 2, 0, 3, 0)
    rig.ack_last(choices=(1, 2, 0, 3, 0))
    assert rig.state == S.RECORDED


def test_empty_draft_is_refused_locally() -> None:
    rig = voting(ITEMS5)
    rig.press("confirm")
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.EMPTY_BALLOT and votes(rig) == []


def test_rating_keys_and_excellent_by_pressing_yes_twice() -> None:
    rig = voting(RATING3)
    rig.press("yes")
    assert rig.board.display.lines == ["请表决", "第1项 满意"]  # type: ignore[union-attr]
    rig.press("yes")
    assert rig.board.display.lines == ["请表决", "第1项 优秀"]  # type: ignore[union-attr]
    rig.press("down")
    rig.press("no")
    rig.press("down")
    rig.press("abstain")
    rig.press("confirm")
    assert votes(rig)[-1].choices == (consts.EXCELLENT, consts.UNSATISFIED, consts.BASIC)
    assert votes(rig)[-1].ballot_kind == consts.RATING


def test_choice_not_admitted_is_refused() -> None:
    rig = voting(motion(options=(1 << consts.YES) | (1 << consts.NO)))  # no abstain
    rig.press("abstain")
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.BAD_CHOICE and votes(rig) == []


def test_three_key_keypad_votes_the_chairs_focus_item() -> None:
    rig = voting(ITEMS5.replace(focus=2), display=False)  # type: ignore[attr-defined]
    rig.press("no")
    assert votes(rig)[-1].choices == (0, 0, consts.NO, 0, 0)
    rig.ack_last()
    assert rig.state == S.RECORDED and rig.board.leds.modes["no"] == "on"
    rig.broadcast("motion", ITEMS5.replace(focus=3))  # type: ignore[attr-defined]  # the chair puts the next item
    assert rig.state == S.MOTION_OPEN and rig.board.leds.modes["no"] == "off"
    rig.press("yes")
    assert votes(rig)[-1].choices == (0, 0, 0, consts.YES, 0)


def test_three_key_keypad_cannot_vote_all_items_at_once() -> None:
    rig = voting(ITEMS5, display=False)
    rig.press("yes")
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.WRONG_BALLOT


def test_focus_on_a_display_keypad_is_one_press_too() -> None:
    rig = voting(ITEMS5.replace(focus=4))  # type: ignore[attr-defined]
    assert rig.board.display.lines == ["请表决", "第5项"]  # type: ignore[union-attr]
    rig.press("abstain")
    assert votes(rig)[-1].choices == (0, 0, 0, 0, consts.ABSTAIN)


def test_three_key_rating_maps_keys_to_grades() -> None:
    rig = voting(RATING3.replace(focus=0), display=False)  # type: ignore[attr-defined]
    rig.press("abstain")
    assert votes(rig)[-1].choices == (consts.BASIC, 0, 0)


def test_first_press_counts() -> None:
    rig = voting(motion(press_policy=consts.FIRST_PRESS))
    rig.press("yes")
    rig.press("yes")  # the same key again: nothing new
    assert len(votes(rig)) == 1 and rig.state == S.SENT
    rig.press("no")  # a change while the first is in flight
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.FIRST_PRESS_FINAL
    assert len(votes(rig)) == 1 and len(rig.kp.outbox) == 1  # the first press is still being sent
    rig.step(rig.kp.cfg["refusal_ms"])
    assert rig.state == S.SENT
    rig.answer(frames.Ack(votes(rig)[0].counter, 0, consts.VOTE, 3, 1, (1,), ""))
    assert rig.state == S.RECORDED
    rig.press("abstain")
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.FIRST_PRESS_FINAL


def test_last_press_supersedes_the_unanswered_press() -> None:
    rig = voting(MOTION)
    rig.press("yes")
    rig.press("no")
    assert [v.choices for v in votes(rig)] == [(1,), (2,)]
    assert len(rig.kp.outbox) == 1 and rig.kp.outbox.entries[0].choices == (2,)
    assert rig.board.leds.modes["no"] == "blink" and rig.board.leds.modes["yes"] == "off"
    rig.ack_last()
    rig.press("yes")  # a change after "recorded": sent again
    assert rig.state == S.SENT and votes(rig)[-1].choices == (1,)


def test_local_refusals() -> None:
    rig = in_state(S.IDLE)
    rig.press("yes")
    assert rig.state == S.REFUSED and rig.kp.refusal == reasons.MOTION_NOT_OPEN
    rig = in_state(S.IDLE)
    rig.broadcast("motion", MOTION)
    rig.press("yes")
    assert rig.kp.refusal == reasons.NOT_CHECKED_IN
    rig = voting(motion(flags=consts.FLAG_PAUSED))
    assert rig.board.display.lines == ["表决暂停"]  # type: ignore[union-attr]
    rig.press("yes")
    assert rig.kp.refusal == reasons.ROUND_PAUSED
    rig = in_state(S.CONNECTING)
    rig.press("checkin")
    assert rig.state == S.CONNECTING
    rig = in_state(S.IDLE)
    rig.broadcast("sitting", frames.SittingState(7, consts.SITTING_SETUP, b"sit-0007", 5, 0, 1))
    rig.press("checkin")
    assert rig.kp.refusal == reasons.CHECKIN_CLOSED and rig.board.display.lines == ["签到未开"]  # type: ignore[union-attr]
