"""The gateway's decisions as golden cases: the ``gateway`` section of protocol/vectors.json.

Each scenario starts from one small hall (three members, their seats and
keypads, three motions added but not opened, the sitting in setup) and is a
list of steps: a chair step (``open_checkin``, ``start_session``,
``open_round``, ``pause_round``, ``close_round``, ``focus``) or an uplink
frame with the exact reply the gateway sends.  Every keypad of this hall
signs with the public test key, so the frames are byte-exact and anyone can
replay them against a gateway.  The replies are written here by hand from
SPEC.md; tests/gateway/core/test_decision_vectors.py runs them through the
real decision code.
"""

from __future__ import annotations

import hashlib
from typing import Any

from firmware.signer import sign_with_nonce
from protocol import codec, consts, frames, reasons

__all__ = ["HALL", "scenarios"]

SITTING_ID = 42
SITTING_NONCE = bytes.fromhex("5a17c0de20261124")
CARD_1 = bytes.fromhex("04a1b2c3")
CARD_3 = bytes.fromhex("04d5e6f7")
NONCES = {
    7: bytes.fromhex("9e3779b97f4a7c15"),
    8: bytes.fromhex("6a09e667f3bcc908"),
    9: bytes.fromhex("bb67ae8584caa73b"),
}
YNA = 0b1110  # options: yes, no, abstain

HALL: dict[str, Any] = {
    "sitting_id": SITTING_ID,
    "sitting_nonce": SITTING_NONCE.hex(),
    "readerless_checkin": False,
    "members": [
        {"member": 1, "seat": "A-1", "device": "kp-0001", "card": CARD_1.hex()},
        {"member": 2, "seat": "A-2", "device": "kp-0002", "card": ""},
        {"member": 3, "seat": "A-3", "device": "kp-0003", "card": CARD_3.hex()},
    ],
    "spares": ["kp-0004"],
    "motions": [
        {"motion_id": 7, "ballot_kind": consts.YES_NO_ABSTAIN, "item_count": 1, "options": YNA,
         "press_policy": consts.LAST_PRESS, "secret": False, "round_nonce": NONCES[7].hex()},
        {"motion_id": 8, "ballot_kind": consts.ITEM_LIST, "item_count": 3, "options": YNA,
         "press_policy": consts.LAST_PRESS, "secret": True, "round_nonce": NONCES[8].hex()},
        {"motion_id": 9, "ballot_kind": consts.YES_NO_ABSTAIN, "item_count": 1, "options": YNA,
         "press_policy": consts.FIRST_PRESS, "secret": False, "round_nonce": NONCES[9].hex()},
    ],
}  # fmt: skip


def _secret() -> bytes:
    from hil.vectors import TEST_SECRET

    return TEST_SECRET


class _Scenario:
    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[dict[str, Any]] = []

    def chair(self, action: str, **args: int) -> _Scenario:
        self.steps.append({"chair": action, **args})
        return self

    def swap(self, seat: str, to: str) -> _Scenario:
        self.steps.append({"technician": "swap", "seat": seat, "to": to})
        return self

    def up(self, device: str, frame: frames.Uplink, reply: frames.Frame, channel: str = "") -> _Scenario:
        region = codec.signed_region(frame)  # the same frame sent again is byte-identical
        label = b"hallvote protocol v2 decision nonce: " + region
        k = int.from_bytes(hashlib.sha256(label).digest(), "big") % (2**255) + 1
        sealed = frame.replace(signature=sign_with_nonce(_secret(), region, k))
        channel = channel or ("status" if isinstance(frame, frames.Health) else "up")
        self.steps.append(
            {
                "device": device,
                "channel": channel,
                "frame": codec.to_json(sealed),
                "hex": codec.encode(sealed).hex(),
                "reply": codec.to_json(reply),
                "reply_hex": codec.encode(reply).hex(),
            }
        )
        return self

    def raw(self, device: str, channel: str, data: bytes, reply: frames.Frame) -> _Scenario:
        self.steps.append(
            {
                "device": device,
                "channel": channel,
                "hex": data.hex(),
                "reply": codec.to_json(reply),
                "reply_hex": codec.encode(reply).hex(),
            }
        )
        return self

    def data(self) -> dict[str, Any]:
        return {"name": self.name, "steps": self.steps}


def _status(dev: str, counter: int) -> frames.Status:
    return frames.Status(dev, counter, (1, 0, 0), 60, 80, -60, 90000)


def _checkin(dev: str, counter: int, card: bytes = b"") -> frames.CheckIn:
    return frames.CheckIn(dev, counter, SITTING_ID, SITTING_NONCE, card)


def _vote(dev: str, counter: int, motion: int, choices: tuple[int, ...], round_: int = 1) -> frames.Vote:
    kind = consts.ITEM_LIST if motion == 8 else consts.YES_NO_ABSTAIN
    return frames.Vote(dev, counter, motion, round_, NONCES[motion], kind, choices)


def _ack(counter: int, reason: int, frame_type: int, ref: int = 0, rnd: int = 0,
         choices: tuple[int, ...] = (), seat: str = "") -> frames.Ack:  # fmt: skip
    return frames.Ack(counter, reason, frame_type, ref, rnd, choices, seat)


def _nack(counter: int, reason: int, frame_type: int) -> frames.Nack:
    return frames.Nack(counter, reason, frame_type)


def _in_session(s: _Scenario) -> _Scenario:
    """Check-in opened, all three members checked in with their cards, session started."""
    s.chair("open_checkin")
    s.up(
        "kp-0001",
        _checkin("kp-0001", 1, CARD_1),
        _ack(1, reasons.ACCEPTED, consts.CHECK_IN, 42, 0, (), "A-1"),
    )
    s.up("kp-0002", _checkin("kp-0002", 1), _ack(1, reasons.ACCEPTED, consts.CHECK_IN, 42, 0, (), "A-2"))
    s.up(
        "kp-0003",
        _checkin("kp-0003", 1, CARD_3),
        _ack(1, reasons.ACCEPTED, consts.CHECK_IN, 42, 0, (), "A-3"),
    )
    return s.chair("start_session")


def scenarios() -> list[dict[str, Any]]:
    ok, again, rep = reasons.ACCEPTED, reasons.ALREADY_RECORDED, reasons.REPLACED
    st, ci, vo = consts.STATUS, consts.CHECK_IN, consts.VOTE
    out: list[_Scenario] = []

    out.append(
        _Scenario("hello and status are acked")
        .up("kp-0001", frames.Hello("kp-0001", 1, (1, 0, 0), 3, 100, -50, 95000), _ack(1, ok, consts.HELLO))
        .up("kp-0001", _status("kp-0001", 2), _ack(2, ok, st))
    )
    out.append(
        _Scenario("replay window: any unused counter within 256 below the highest is fresh")
        .up("kp-0001", _status("kp-0001", 300), _ack(300, ok, st))
        .up("kp-0001", _status("kp-0001", 100), _ack(100, ok, st))
        .up("kp-0001", _status("kp-0001", 45), _ack(45, ok, st))
        .up("kp-0001", _status("kp-0001", 44), _nack(44, reasons.STALE_COUNTER, st))
    )
    s = _Scenario("an exact retransmission is acked again; another frame with a used counter is stale")
    s.up("kp-0001", _status("kp-0001", 5), _ack(5, ok, st))
    s.up("kp-0001", _status("kp-0001", 5), _ack(5, again, st))
    s.up(
        "kp-0001",
        frames.Status("kp-0001", 5, (1, 0, 0), 61, 80, -60, 90000),
        _nack(5, reasons.STALE_COUNTER, st),
    )
    out.append(s)

    s = _Scenario("check-in: the member's own card is required when one is on record")
    s.chair("open_checkin")
    s.up("kp-0001", _checkin("kp-0001", 1), _nack(1, reasons.CARD_MISMATCH, ci))
    s.up("kp-0001", _checkin("kp-0001", 2, CARD_3), _nack(2, reasons.CARD_MISMATCH, ci))
    s.up("kp-0002", _checkin("kp-0002", 1, CARD_1), _nack(1, reasons.CARD_MISMATCH, ci))
    s.up("kp-0001", _checkin("kp-0001", 3, CARD_1), _ack(3, ok, ci, 42, 0, (), "A-1"))
    s.up(
        "kp-0002",
        _checkin("kp-0002", 2, bytes.fromhex("0411223344556677")),
        _ack(2, ok, ci, 42, 0, (), "A-2"),
    )
    s.up("kp-0003", _checkin("kp-0003", 1, CARD_3), _ack(1, ok, ci, 42, 0, (), "A-3"))
    s.up("kp-0003", _checkin("kp-0003", 2, CARD_3), _ack(2, reasons.ALREADY_CHECKED_IN, ci, 42, 0, (), "A-3"))
    out.append(s)

    s = _Scenario("the counter is checked before the sitting and round: a lost ack is answered after close")
    _in_session(s).chair("open_round", motion_id=7)
    vote = _vote("kp-0001", 2, 7, (consts.YES,))
    s.up("kp-0001", vote, _ack(2, ok, vo, 7, 1, (consts.YES,), "A-1"))
    s.chair("close_round", motion_id=7)
    s.up("kp-0001", vote, _ack(2, again, vo, 7, 1, (consts.YES,), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 3, 7, (consts.NO,)), _nack(3, reasons.ROUND_CLOSED, vo))
    out.append(s)

    s = _Scenario("a new frame repeating the recorded choice is acked ALREADY_RECORDED")
    _in_session(s).chair("open_round", motion_id=7)
    s.up("kp-0001", _vote("kp-0001", 2, 7, (consts.YES,)), _ack(2, ok, vo, 7, 1, (consts.YES,), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 3, 7, (consts.YES,)), _ack(3, again, vo, 7, 1, (consts.YES,), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 4, 7, (consts.NO,)), _ack(4, rep, vo, 7, 1, (consts.NO,), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 5, 7, (consts.NO,)), _ack(5, again, vo, 7, 1, (consts.NO,), "A-1"))
    s.chair("close_round", motion_id=7).chair("open_round", motion_id=9)
    s.up(
        "kp-0002", _vote("kp-0002", 2, 9, (consts.ABSTAIN,)), _ack(2, ok, vo, 9, 1, (consts.ABSTAIN,), "A-2")
    )
    s.up(
        "kp-0002",
        _vote("kp-0002", 3, 9, (consts.ABSTAIN,)),
        _ack(3, again, vo, 9, 1, (consts.ABSTAIN,), "A-2"),
    )
    s.up("kp-0002", _vote("kp-0002", 4, 9, (consts.YES,)), _nack(4, reasons.FIRST_PRESS_FINAL, vo))
    out.append(s)

    s = _Scenario("last press: a late frame with a lower counter never overrides a newer press")
    _in_session(s).chair("open_round", motion_id=7)
    s.up("kp-0001", _vote("kp-0001", 6, 7, (consts.NO,)), _ack(6, ok, vo, 7, 1, (consts.NO,), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 5, 7, (consts.YES,)), _ack(5, again, vo, 7, 1, (consts.NO,), "A-1"))
    out.append(s)

    s = _Scenario("a keypad swap: every press of the new keypad comes after the old keypad's presses")
    _in_session(s).chair("open_round", motion_id=7)
    s.up("kp-0001", _vote("kp-0001", 40, 7, (consts.YES,)), _ack(40, ok, vo, 7, 1, (consts.YES,), "A-1"))
    s.swap("A-1", "kp-0004")
    s.up("kp-0001", _vote("kp-0001", 41, 7, (consts.NO,)), _nack(41, reasons.DEVICE_REVOKED, vo))
    s.up("kp-0004", _vote("kp-0004", 1, 7, (consts.YES,)), _ack(1, again, vo, 7, 1, (consts.YES,), "A-1"))
    s.up("kp-0004", _vote("kp-0004", 2, 7, (consts.NO,)), _ack(2, rep, vo, 7, 1, (consts.NO,), "A-1"))
    s.up("kp-0004", _vote("kp-0004", 3, 7, (consts.NO,)), _ack(3, again, vo, 7, 1, (consts.NO,), "A-1"))
    out.append(s)

    s = _Scenario("MOTION_NOT_OPEN without a live round, WRONG_ROUND while another round is live")
    _in_session(s)
    s.up("kp-0001", _vote("kp-0001", 2, 7, (consts.YES,)), _nack(2, reasons.MOTION_NOT_OPEN, vo))
    s.chair("open_round", motion_id=9)
    s.up("kp-0001", _vote("kp-0001", 3, 7, (consts.YES,)), _nack(3, reasons.MOTION_NOT_OPEN, vo))
    s.up("kp-0001", _vote("kp-0001", 4, 7, (consts.YES,), round_=2), _nack(4, reasons.WRONG_ROUND, vo))
    s.up("kp-0001", frames.Vote("kp-0001", 5, 9, 1, NONCES[7], 1, (1,)), _nack(5, reasons.WRONG_ROUND, vo))
    s.chair("pause_round", motion_id=9)
    s.up("kp-0001", _vote("kp-0001", 6, 9, (consts.YES,)), _nack(6, reasons.ROUND_PAUSED, vo))
    s.up("kp-0001", _vote("kp-0001", 7, 7, (consts.YES,), round_=2), _nack(7, reasons.WRONG_ROUND, vo))
    out.append(s)

    s = _Scenario(
        "focus is 0-based: only the item the chair put may be pressed; secret acks carry no choices"
    )
    _in_session(s).chair("open_round", motion_id=8).chair("focus", motion_id=8, item=1)
    s.up("kp-0001", _vote("kp-0001", 2, 8, (consts.YES, 0, 0)), _nack(2, reasons.WRONG_BALLOT, vo))
    s.up("kp-0001", _vote("kp-0001", 3, 8, (0, consts.NO, 0)), _ack(3, ok, vo, 8, 1, (), "A-1"))
    s.up("kp-0001", _vote("kp-0001", 4, 8, (0, consts.YES)), _nack(4, reasons.WRONG_BALLOT, vo))
    out.append(s)

    s = _Scenario("votes need check-in; an unbound or unknown keypad is refused before anything else")
    s.chair("open_checkin")
    s.up("kp-0002", _checkin("kp-0002", 1), _ack(1, ok, ci, 42, 0, (), "A-2"))
    s.up("kp-0003", _checkin("kp-0003", 1, CARD_3), _ack(1, ok, ci, 42, 0, (), "A-3"))
    s.chair("start_session").chair("open_round", motion_id=7)
    s.up("kp-0001", _vote("kp-0001", 1, 7, (consts.YES,)), _nack(1, reasons.NOT_CHECKED_IN, vo))
    s.up("kp-0009", _status("kp-0009", 1), _nack(1, reasons.UNKNOWN_DEVICE, st))
    out.append(s)

    s = _Scenario("unreadable frames are nacked with counter and type when they can be read")
    s.raw("kp-0001", "up", b"", _nack(0, reasons.MALFORMED, 0))
    s.raw("kp-0001", "up", bytes([consts.VERSION]), _nack(0, reasons.MALFORMED, 0))
    head = bytes([1, consts.VOTE, 7]) + b"kp-0001" + (9).to_bytes(4, "big")
    s.raw("kp-0001", "up", head + bytes(300), _nack(9, reasons.BAD_VERSION, consts.VOTE))
    s.raw("kp-0001", "up", bytes([consts.VERSION, 0x05]) + bytes(90), _nack(0, reasons.UNKNOWN_TYPE, 0))
    s.up(
        "kp-0001", _vote("kp-0001", 3, 7, (consts.YES,)), _nack(3, reasons.UNKNOWN_TYPE, vo), channel="status"
    )
    s.up("kp-0002", _status("kp-0001", 4), _nack(4, reasons.DEVICE_MISMATCH, st))
    out.append(s)
    return [sc.data() for sc in out]
