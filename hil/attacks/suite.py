"""The attack suite: two sittings on a SimRig, every attack at the phase it needs, the tally checked at the end.

Roles (a rig of ``keypads`` >= 8 with one spare):

* the **deputies** (all keypads but the last two) run the real firmware,
  check in and vote by key presses; their presses are the only ones that
  may be counted besides the insider's own;
* the **insider** keypad is switched off and its account and key are the
  attacker's (a technician who pulled both out of it); it checks in and
  votes once as the deputy at that seat would, then attacks;
* the **absent** keypad's member never checks in (its account and key are
  the attacker's too); it is revoked at the end;
* the **spare** is registered with no seat.

Sitting 1 (late check-in allowed): setup, check-in, motion A (named,
first press, yes/no only) round 1 with a 10x flood while the deputies
vote, round 2, motion B.  Sitting 2 (no late check-in; the insider's seat
now belongs to a member with a card on record, who misses its check-in;
the absent member's seat is not in the seat map): replays from sitting 1,
card checks, motion C.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from firmware.app import states as S
from hil.attacks import broker_side, refusals
from hil.attacks.client import Holder, Row, answer, sign_with
from hil.attacks.hall import COUNTED, Bench
from hil.rig.sim import SimRig
from protocol import consts, reasons
from protocol.frames import Ack

__all__ = ["MIN_KEYPADS", "run_suite"]

MIN_KEYPADS = 8  # sitting 2 still has quorum with the insider's member and the absent one away
PASS = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}
CARD = b"\x04\xc0\xff\xee"


def _motion(b: Bench, sitting: int, title: str, **kw: Any) -> tuple[int, bytes]:
    spec = {"title": title, "ballot_kind": consts.YES_NO_ABSTAIN, "secret": False, "passing_rule": PASS, **kw}
    m = b.call("POST", f"/sittings/{sitting}/motions", role="clerk", json=spec)
    return m["id"], _nonce(b, m["id"], 1)


def _nonce(b: Bench, motion: int, rnd: int) -> bytes:
    rounds = b.call("GET", f"/motions/{motion}")["rounds"]
    return bytes.fromhex(next(r["nonce"] for r in rounds if r["number"] == rnd))


def _open(b: Bench, motion: int, rnd: int, devices: list[str]) -> bytes:
    b.call("POST", f"/motions/{motion}/rounds/{rnd}/open")
    b.keypads_see(lambda k: k.state == S.MOTION_OPEN, f"motion {motion} round {rnd} open", devices)
    return _nonce(b, motion, rnd)


def _counts(b: Bench, motion: int) -> list[dict[str, Any]]:
    return [{"round": r["number"], "voted": (r.get("result") or {}).get("voted"),
             "counts": [i["counts"] for i in (r.get("result") or {}).get("items", [])]}
            for r in b.call("GET", f"/motions/{motion}/results")["rounds"]]  # fmt: skip


def flood(b: Bench, h: Holder, motion: int, nonce: bytes, counted_frame: bytes, n: int,
          deputies: list[str], choice: str, state_after: str) -> Row:  # fmt: skip
    """``n`` frames from the insider's account while the deputies press: its exact retransmission, fresh
    counters repeating its choice, fresh counters changing it, forgeries; none may be counted."""
    a = b.session(h.device_id, client_id=h.device_id + "-flood")
    forger = sign_with(b"\x03" * 32)
    pool = min(n // 4 + 1, 40)  # distinct fresh counters: the insider's replay window must still hold its
    repeat = [h.vote(motion, 1, nonce, (consts.YES,)) for _ in range(pool)]  # captured frames afterwards
    change = [h.vote(motion, 1, nonce, (consts.NO,)) for _ in range(pool)]
    forged = [r + forger(r) for r in (h.vote_region(motion, 1, nonce, (consts.NO,)) for _ in range(pool))]
    sources = ([counted_frame], repeat, change, forged)
    payloads = [sources[i % 4][(i // 4) % len(sources[i % 4])] for i in range(n)]
    sent: list[bool] = []
    t = threading.Thread(target=lambda: sent.extend(a.publish(h.device_id, p) for p in payloads))
    t.start()
    b.press_all(deputies, choice, state_after, "the deputies' votes recorded during the flood")
    t.join(120)
    answers: list[Any] = []
    while len(answers) < n and (got := a.reply(10.0)) is not None:
        answers.append(got)
    a.close()
    took = sum(1 for x in answers if isinstance(x, Ack) and x.reason in COUNTED)
    kinds = Counter(answer(x) for x in answers)
    outcome = ", ".join(f"{v}x {k}" for k, v in sorted(kinds.items()))
    if len(answers) < n:
        outcome += f", {n - len(answers)} unanswered"
    return b.add(Row(f"flood: {n} frames (10x the hall) from one keypad while {len(deputies)} deputies vote",
                     sum(sent), took, outcome, "", {"answers": dict(kinds)}))  # fmt: skip


def run_suite(rig: SimRig, say: Any = lambda _m: None) -> dict[str, Any]:
    """Every attack on a started rig (>= 8 keypads, 1 spare, broker control on); rows and the final tallies."""
    b = Bench(rig)
    try:
        return _run(b, say)
    finally:
        b.close()


def _run(b: Bench, say: Any) -> dict[str, Any]:
    rig, hall = b.rig, b.hall
    ids = rig.ids()
    assert len(ids) >= MIN_KEYPADS and hall.spares, "the attack suite needs >= 8 keypads and a spare"
    deputies, insider, absent, spare = ids[:-2], ids[-2], ids[-1], hall.spares[0]
    b.halt(insider)
    b.halt(absent)
    s1 = rig.sitting_id
    n1 = bytes.fromhex(b.call("GET", f"/sittings/{s1}")["nonce"])
    h, ha = b.holder(insider), b.holder(absent)

    say("attacks: sitting 1 in setup: logins, ACL, frames")
    broker_side.connect_attacks(b, deputies[0])
    a = b.session(insider)
    a.subscribe(f"hallvote/v2/{hall.hall_id}/hall/+")
    broker_side.subscribe_attacks(b, a, deputies[0])
    refusals.frame_checks(b, a, h, deputies[0], s1, n1)
    b.frame(a, "a check-in before check-in opens", h.check_in(s1, n1), "nack NO_SITTING")
    sp = b.session(spare)
    b.frame(sp, "a registered keypad bound to no seat", b.holder(spare).check_in(s1, n1), "nack SEAT_UNBOUND")
    broker_side.unregistered(b, "kp-9999", s1, n1)
    broker_side.oversize(b, spare)

    say("attacks: check-in")
    b.call("POST", f"/sittings/{s1}/checkin/open")
    b.keypads_see(b.sitting_state_is(s1, consts.SITTING_CHECKIN_OPEN), "check-in open", deputies)
    victim_frame = b.holder(deputies[0], 7000).check_in(s1, n1)
    b.silent("publish on another keypad's topic (its key stolen too)", victim_frame,
             lambda p: a.publish(deputies[0], p), "dropped by the broker ACL", [a])  # fmt: skip
    forged = b"\x02\x81" + s1.to_bytes(4, "big") + b"\x03" + n1 + b"\x00" * 8
    b.silent("publish a forged hall broadcast (sitting closed)", forged,
             lambda p: a.publish("", p, topic=f"hallvote/v2/{hall.hall_id}/hall/sitting"),
             "dropped by the broker ACL", [a])  # fmt: skip
    b.silent("publish on another hall's topic", h.check_in(s1, n1),
             lambda p: a.publish("", p, topic=f"hallvote/v2/other-hall/dev/{insider}/up"),
             "no answer, nothing counted", [a])  # fmt: skip
    withheld_checkin = h.check_in(s1, n1)  # signed now, captured and never delivered: replayed in sitting 2
    captured_checkin = h.check_in(s1, n1)  # the insider's check-in, as a listener on the wire captures it
    _must_take(a, captured_checkin)
    b.frame(a, "replay of a counted check-in", captured_checkin, "ack ALREADY_RECORDED")
    refusals.sitting_checks(b, a, h, s1, n1, captured_checkin)
    b.frame(a, "a check-in from the same keypad id in another hall (its own key)",
            Holder(insider, b"\x05" * 32).check_in(s1, n1), "nack BAD_SIGNATURE")  # fmt: skip
    aa = b.session(absent)
    b.press_all(deputies, "checkin", S.CHECKED_IN, "the deputies checked in")
    b.call("POST", f"/sittings/{s1}/start")

    say("attacks: motion A round 1")
    ma, _ = _motion(b, s1, "攻击测试甲 / attack test A", press_policy="first_press", options=0b0110)
    mb, _ = _motion(b, s1, "攻击测试乙 / attack test B", press_policy="last_press")
    b.frame(
        a,
        "a vote before the round opens",
        h.vote(ma, 1, _nonce(b, ma, 1), (consts.YES,)),
        "nack MOTION_NOT_OPEN",
    )
    na1 = _open(b, ma, 1, deputies)
    b.frame(
        aa,
        "a vote from a member who has not checked in",
        ha.vote(ma, 1, na1, (consts.YES,)),
        "nack NOT_CHECKED_IN",
    )
    refusals.ballot_shape_checks(b, a, h, ma, na1)
    withheld_a1 = h.vote(ma, 1, na1, (consts.YES,))
    captured_vote = h.vote(ma, 1, na1, (consts.YES,))  # the insider's vote (yes), captured on the wire
    _must_take(a, captured_vote)
    refusals.round_checks(b, a, h, ma, na1, mb)
    a.close()
    flood(b, h, ma, na1, captured_vote, 10 * len(ids), deputies[:-1], "yes", S.RECORDED)
    a = b.session(insider)
    b.press_all(deputies[-1:], "no", S.RECORDED, "the last deputy's vote")
    b.call("POST", f"/motions/{ma}/rounds/1/pause")
    b.frame(a, "a vote while the round is paused", h.vote(ma, 1, na1, (consts.NO,)), "nack ROUND_PAUSED")
    b.call("POST", f"/motions/{ma}/rounds/1/resume")
    b.call("POST", f"/motions/{ma}/rounds/1/close")
    b.frame(a, "a vote after the round closed", h.vote(ma, 1, na1, (consts.NO,)), "nack ROUND_CLOSED")

    say("attacks: replays into round 2 and motion B")
    b.call("POST", f"/motions/{ma}/rerun")
    na2 = _open(b, ma, 2, deputies)
    b.frame(a, "replay of a counted vote into the next round", captured_vote, "ack ALREADY_RECORDED")
    b.frame(a, "replay of a withheld round-1 vote into round 2", withheld_a1, "nack ROUND_CLOSED")
    withheld_a2 = h.vote(ma, 2, na2, (consts.NO,))
    b.call("POST", f"/motions/{ma}/rounds/2/close")
    _open(b, mb, 1, deputies)
    b.frame(a, "replay of a counted vote into another motion", captured_vote, "ack ALREADY_RECORDED")
    b.frame(
        a, "replay of a withheld vote of a closed round into another motion", withheld_a2, "nack ROUND_CLOSED"
    )
    b.frame(a, "a vote naming the open motion with another round's nonce", h.vote(mb, 1, na2, (consts.YES,)),
            "nack WRONG_ROUND")  # fmt: skip
    b.call("POST", f"/motions/{mb}/rounds/1/close")
    b.call("POST", f"/sittings/{s1}/close")
    b.keypads_see(b.sitting_state_is(s1, consts.SITTING_CLOSED), "sitting 1 closed", deputies)
    b.frame(a, "a check-in after the sitting closed", h.check_in(s1, n1), "nack NO_SITTING")

    say("attacks: sitting 2")
    s2, n2 = _second_sitting(b, deputies, insider)
    b.call("POST", f"/sittings/{s2}/checkin/open")
    b.keypads_see(b.sitting_state_is(s2, consts.SITTING_CHECKIN_OPEN), "sitting 2 check-in open", deputies)
    b.frame(
        a, "replay of a withheld check-in of sitting 1 into sitting 2", withheld_checkin, "nack WRONG_SITTING"
    )
    b.frame(
        a,
        "replay of a counted check-in of sitting 1 into sitting 2",
        captured_checkin,
        "ack ALREADY_RECORDED",
    )
    b.frame(a, "a check-in without the member's card on record", h.check_in(s2, n2), "nack CARD_MISMATCH")
    b.frame(a, "a check-in with another card", h.check_in(s2, n2, b"\x04\x0b\xad\x00"), "nack CARD_MISMATCH")
    b.frame(
        aa, "a keypad whose seat is not in the sitting's seat map", ha.check_in(s2, n2), "nack NOT_MEMBER"
    )
    # The member at the insider's seat misses sitting 2's check-in (a member already checked in would be
    # acked ALREADY_CHECKED_IN, SPEC section 5 step 6).
    b.press_all(deputies, "checkin", S.CHECKED_IN, "the deputies checked in to sitting 2")
    b.call("POST", f"/sittings/{s2}/start")
    b.frame(
        a,
        "a check-in after check-in closed (no late check-in)",
        h.check_in(s2, n2, CARD),
        "nack CHECKIN_CLOSED",
    )
    mc, _ = _motion(b, s2, "攻击测试丙 / attack test C", press_policy="first_press")
    _open(b, mc, 1, deputies)
    b.frame(a, "replay of a withheld vote of sitting 1 into sitting 2", withheld_a1, "nack NOT_CHECKED_IN")
    b.frame(a, "replay of a counted vote of sitting 1 into sitting 2", captured_vote, "ack ALREADY_RECORDED")
    b.call("POST", f"/motions/{mc}/rounds/1/close")
    aa.close()
    broker_side.revoked(b, absent, s2, n2)
    b.call("POST", f"/sittings/{s2}/close")

    tallies = {"A": _counts(b, ma), "B": _counts(b, mb), "C": _counts(b, mc)}
    present = {s: len(b.call("GET", f"/sittings/{s}/attendance")) for s in (s1, s2)}
    yes, no = len(deputies) - 1 + 1, 1  # the deputies but the last, and the insider, pressed yes
    expected = {"A": [{"round": 1, "voted": yes + no, "counts": [[yes, no, 0]]},
                      {"round": 2, "voted": 0, "counts": [[0, 0, 0]]}],
                "B": [{"round": 1, "voted": 0, "counts": [[0, 0, 0]]}],
                "C": [{"round": 1, "voted": 0, "counts": [[0, 0, 0]]}]}  # fmt: skip
    want_present = {s1: len(deputies) + 1, s2: len(deputies)}  # the insider's member misses sitting 2
    rows = [r.as_dict() for r in b.rows]
    return {
        "keypads": len(ids),
        "rows": rows,
        "tallies": tallies,
        "expected_tallies": expected,
        "present": present,
        "expected_present": want_present,
        "ok": all(r["held"] for r in rows) and tallies == expected and present == want_present,
    }


def _must_take(a: Any, frame: bytes) -> None:
    """The deputy at the insider's seat does what a deputy does: this frame must be accepted."""
    got = a.ask(frame)
    if not (isinstance(got, Ack) and got.reason == reasons.ACCEPTED):
        raise AssertionError(f"the insider's own frame was not accepted: {answer(got)}")


def _second_sitting(b: Bench, deputies: list[str], insider: str) -> tuple[int, bytes]:
    """Sitting 2 of the same body: no late check-in; the insider's seat goes to a new member with a card;
    the absent member's seat is left out of the seat map."""
    hall = b.hall
    s = b.call("POST", "/sittings", role="clerk", json={"body_id": hall.body_id, "hall_id": hall.hall_id,
               "kind": "plenary", "title": "第二次全体会议 / second sitting", "late_checkin_allowed": False})  # fmt: skip
    carded = b.call("POST", f"/bodies/{hall.body_id}/members", role="clerk",
                    json={"name": "持卡代表 / carded member", "card_uid": CARD.hex()})  # fmt: skip
    seats = {x["label"]: x["id"] for x in b.call("GET", f"/halls/{hall.hall_id}/seats")}
    members = [m["id"] for m in b.call("GET", f"/bodies/{hall.body_id}/members")]
    devs = list(b.rig.keypads)
    plan = [
        {"seat_id": seats[hall.seats[devs.index(d)]], "member_id": members[devs.index(d)]} for d in deputies
    ]
    plan.append({"seat_id": seats[hall.seats[devs.index(insider)]], "member_id": carded["id"]})
    b.call("POST", f"/sittings/{s['id']}/seats", role="clerk", json=plan)
    b.call("POST", f"/sittings/{s['id']}/activate")
    return s["id"], bytes.fromhex(b.call("GET", f"/sittings/{s['id']}")["nonce"])
