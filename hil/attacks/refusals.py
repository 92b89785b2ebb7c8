"""Frames the gateway must refuse, each on a keypad account whose password and key the attacker holds.

Grouped by the phase of the sitting they need (protocol/SPEC.md section 5
names each code and the order of the checks); every frame travels through
the real broker on the account's own uplink topic, and each row asserts
the exact nack reason and that the tally did not move.
"""

from __future__ import annotations

from hil.attacks.client import Attacker, Holder, N, random_nonce
from hil.attacks.hall import Bench
from protocol import consts

__all__ = ["ballot_shape_checks", "frame_checks", "round_checks", "sitting_checks"]

YES, NO, ABSTAIN = consts.YES, consts.NO, consts.ABSTAIN


def frame_checks(b: Bench, a: Attacker, h: Holder, victim: str, sitting: int, nonce: bytes) -> None:
    """Section 5 step 1 and 2: bytes, version, type, length, signature, the topic's device."""
    good = h.check_in(sitting, nonce)
    b.frame(a, "malformed: a frame cut short", good[:20], "nack MALFORMED")
    b.frame(a, "malformed: one byte", b"\x02", "nack MALFORMED")
    b.frame(a, "malformed: a trailing byte after the fields", h.seal(h.check_in(sitting, nonce)[:-64] + b"\x00"),
            "nack MALFORMED")  # fmt: skip
    b.frame(a, "a version 1 frame", b"\x01" + good[1:], "nack BAD_VERSION")
    b.frame(a, "a downlink type (ack) on the uplink topic", b"\x02\x41" + good[2:], "nack UNKNOWN_TYPE")
    b.frame(a, "a check-in on the status channel", good, "nack UNKNOWN_TYPE", channel="status")
    b.frame(a, "a status frame on the up channel", h.status(), "nack UNKNOWN_TYPE")
    b.frame(
        a, "a 250-byte frame (above the 200-byte bound)", good + b"\x00" * (250 - len(good)), "nack TOO_LONG"
    )
    b.frame(a, "a frame signed with another key", Holder(h.device_id, b"\x01" * 32).check_in(sitting, nonce),
            "nack BAD_SIGNATURE")  # fmt: skip
    s = int.from_bytes(good[-32:], "big")
    b.frame(a, "a captured frame with its signature's s replaced by n - s", good[:-32] + (N - s).to_bytes(32, "big"),
            "nack BAD_SIGNATURE")  # fmt: skip
    b.frame(a, "a captured frame with one bit of the body flipped", good[:-70] + bytes([good[-70] ^ 1]) + good[-69:],
            "nack BAD_SIGNATURE")  # fmt: skip
    b.frame(a, "a frame naming another keypad, on one's own topic",
            Holder(victim, h.secret).check_in(sitting, nonce), "nack DEVICE_MISMATCH")  # fmt: skip


def ballot_shape_checks(b: Bench, a: Attacker, h: Holder, motion: int, nonce: bytes) -> None:
    """Ballots no keypad builds: refused by the decoder (WRONG_BALLOT, BAD_CHOICE, EMPTY_BALLOT)."""
    b.frame(
        a, "a yes/no/abstain ballot with two items", h.vote(motion, 1, nonce, (YES, YES)), "nack WRONG_BALLOT"
    )
    b.frame(
        a, "a ballot of an unknown kind (9)", h.vote(motion, 1, nonce, (YES,), kind=9), "nack WRONG_BALLOT"
    )
    b.frame(a, "choice 4 on a yes/no/abstain ballot", h.vote(motion, 1, nonce, (4,)), "nack BAD_CHOICE")
    b.frame(a, "an empty ballot (nothing pressed)", h.vote(motion, 1, nonce, (0,)), "nack EMPTY_BALLOT")
    b.frame(a, "an empty item-list ballot", h.vote(motion, 1, nonce, (0, 0, 0), kind=consts.ITEM_LIST),
            "nack EMPTY_BALLOT")  # fmt: skip


def sitting_checks(b: Bench, a: Attacker, h: Holder, sitting: int, nonce: bytes, accepted: bytes) -> None:
    """With check-in open: another sitting's nonce, a reused counter, a counter far behind."""
    b.frame(
        a,
        "a check-in carrying a nonce of no sitting",
        h.check_in(sitting, random_nonce()),
        "nack WRONG_SITTING",
    )
    b.frame(a, "a check-in for another sitting id", h.check_in(sitting + 100, nonce), "nack WRONG_SITTING")
    used = int.from_bytes(accepted[3 + accepted[2] : 7 + accepted[2]], "big")
    b.frame(a, "a different frame reusing an accepted counter", h.check_in(sitting, nonce, b"\x04\x01\x02\x03",
            counter=used), "nack STALE_COUNTER")  # fmt: skip
    b.frame(a, "a counter 256 or more below the highest", h.check_in(sitting, nonce, counter=used - 256),
            "nack STALE_COUNTER")  # fmt: skip


def round_checks(b: Bench, a: Attacker, h: Holder, motion: int, nonce: bytes, other: int) -> None:
    """While round 1 of ``motion`` is open and the holder has voted yes (first press, options yes/no)."""
    b.frame(a, "changing a first-press vote", h.vote(motion, 1, nonce, (NO,)), "nack FIRST_PRESS_FINAL")
    b.frame(
        a,
        "a choice the motion does not offer (abstain)",
        h.vote(motion, 1, nonce, (ABSTAIN,)),
        "nack BAD_CHOICE",
    )
    b.frame(a, "an item-list ballot on a yes/no/abstain motion", h.vote(motion, 1, nonce, (YES,), kind=consts.ITEM_LIST),
            "nack WRONG_BALLOT")  # fmt: skip
    b.frame(a, "a vote for a round not open (another motion, made-up nonce)", h.vote(other, 1, random_nonce(), (YES,)),
            "nack WRONG_ROUND")  # fmt: skip
    b.frame(a, "a vote naming the open round with a made-up nonce", h.vote(motion, 1, random_nonce(), (YES,)),
            "nack WRONG_ROUND")  # fmt: skip
