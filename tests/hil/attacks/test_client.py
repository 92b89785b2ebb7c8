"""The attacker's frames are what a keypad would sign (so each refusal in the suite is for the reason named)."""

from __future__ import annotations

from gateway.core.signatures import verify
from hil.attacks.client import Holder, Row, answer
from hil.rig.hall import public_key_of
from protocol import codec, consts, frames, reasons

SECRET = b"\x11" * 32


def test_holder_frames_decode_and_verify() -> None:
    h = Holder("kp-0005", SECRET, 10)
    nonce = b"\x01" * 8
    vote = h.vote(7, 1, nonce, (consts.YES,))
    check_in = h.check_in(42, nonce, b"\x04\x01\x02\x03")
    status = h.status()
    assert codec.decode(vote) == frames.Vote(
        "kp-0005", 11, 7, 1, nonce, consts.YES_NO_ABSTAIN, (1,), b"", vote[-64:]
    )
    assert codec.decode(check_in) == frames.CheckIn(
        "kp-0005", 12, 42, nonce, b"\x04\x01\x02\x03", check_in[-64:]
    )
    assert isinstance(codec.decode(status), frames.Status) and h.counter == 13
    for f in (vote, check_in, status):
        verify(public_key_of(SECRET), f[:-64], f[-64:])  # raises on a bad signature
    items = h.vote(8, 1, nonce, (1, 0, 3), kind=consts.ITEM_LIST, counter=99)
    assert codec.decode(items).choices == (1, 0, 3) and codec.decode(items).counter == 99


def test_answers_and_rows() -> None:
    assert answer(None) == "no answer"
    assert answer(frames.Nack(5, reasons.BAD_SIGNATURE, consts.VOTE)) == "nack BAD_SIGNATURE"
    assert answer(frames.Ack(5, reasons.ALREADY_RECORDED, consts.VOTE)) == "ack ALREADY_RECORDED"
    assert Row("x", 1, 0, "nack MALFORMED", "nack MALFORMED").held
    assert not Row("x", 1, 0, "nack MALFORMED", "nack UNKNOWN_TYPE").held  # the wrong reason fails the row
    assert not Row("x", 1, 1, "ack ACCEPTED", "").held  # anything accepted fails the row
