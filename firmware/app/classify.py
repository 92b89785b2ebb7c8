"""Raw inputs -> the state table's events: the guards live here, not in the table.

Pure functions of what the keypad knows (they never change it, except that
a navigation key moves the draft ballot's cursor or sets a draft choice):

* :func:`press`: a key -> ``(event, arg)`` or ``(None, None)`` (nothing to
  do, e.g. check-in when already checked in, the same choice again).  A
  check-in press needs a sitting in check-in or in session; a vote press
  needs an open round, a check-in (made or unanswered), a round not paused,
  and under first press an item not yet recorded or pending; otherwise
  ``key_denied`` with the reason the gateway would give.
* :func:`answer`: an ack/nack from the gateway -> ``ack`` / ``nack`` /
  ``nack_busy``, only for a frame in the outbox (same counter and type).
* :func:`broadcast`: a broadcast -> a sitting, motion or result event, or
  None when it tells nothing new (retained broadcasts are repeated on every
  reconnect and gateway restart).
"""

import sys

from . import states as S
from .ballot import CHOICE_KEYS, DENY, NAV, NAV_KEYS
from .outbox import CHECKIN, VOTE

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from .keypad import Keypad

# protocol.consts and protocol.reasons as const() numbers (checked by tests/firmware/app/test_consts.py).
_CHECK_IN = const(0x03)
_VOTE = const(0x04)
_ACK = const(0x41)
_NACK = const(0x42)
_SITTING_STATE = const(0x81)
_MOTION_OPEN = const(0x82)
_MOTION_CLOSED = const(0x83)
_RESULT_SUMMARY = const(0x84)
_FIRST_PRESS = const(1)
_SITTING_CHECKIN_OPEN = const(1)
_SITTING_IN_SESSION = const(2)
_SITTING_CLOSED = const(3)
_NOT_CHECKED_IN = const(0x24)
_NO_SITTING = const(0x30)
_CHECKIN_CLOSED = const(0x32)
_MOTION_NOT_OPEN = const(0x33)
_ROUND_PAUSED = const(0x35)
_FIRST_PRESS_FINAL = const(0x43)
_BUSY = const(0x50)

if sys.implementation.name != "micropython":
    __all__ = ["answer", "broadcast", "press"]

NOTHING = (None, None)


def press(kp: "Keypad", key: str) -> "tuple[str | None, Any]":
    if key == "checkin":
        if kp.checked_in or kp.pending(CHECKIN):
            return NOTHING  # the LED already says so
        s = kp.sitting
        if s is None:
            return S.KEY_DENIED, _NO_SITTING
        if s.state not in (_SITTING_CHECKIN_OPEN, _SITTING_IN_SESSION):
            return S.KEY_DENIED, _CHECKIN_CLOSED
        return S.KEY_CHECKIN, None
    if key not in CHOICE_KEYS and key not in NAV_KEYS:
        return NOTHING
    # a vote or navigation key
    b, m = kp.ballot, kp.motion
    if b is None or m is None:
        return (S.KEY_DENIED, _MOTION_NOT_OPEN) if key in CHOICE_KEYS else NOTHING
    if not (kp.checked_in or kp.pending(CHECKIN)):
        return S.KEY_DENIED, _NOT_CHECKED_IN
    if m.paused:
        return S.KEY_DENIED, _ROUND_PAUSED
    first = m.press_policy == _FIRST_PRESS
    item = b.current()
    if key in CHOICE_KEYS and b.single and kp.known(item) == b.choice_of(key, item):
        return NOTHING  # the same choice again: already sent or recorded
    taken = set(kp.recorded)
    for e in kp.pending(VOTE, kp.round_key()):
        taken.update(e.items)
    if first and key in CHOICE_KEYS and item in taken:
        return S.KEY_DENIED, _FIRST_PRESS_FINAL
    result = b.key(key)
    if result is None:
        return NOTHING
    kind, value = result
    if kind == DENY:
        return S.KEY_DENIED, value
    if kind == NAV:
        return S.KEY_NAV, None
    choices: tuple[int, ...] = value  # type: ignore[assignment]
    if first:  # only what is new: recorded items cannot change
        choices = tuple(0 if i in taken else c for i, c in enumerate(choices))
        if not any(choices):
            return S.KEY_DENIED, _FIRST_PRESS_FINAL
    return S.KEY_VOTE, choices


def answer(kp: "Keypad", frame: "Any") -> "str | None":
    if frame.TYPE == _ACK:
        counter, kind, event = frame.counter, frame.acked_type, S.ACK
    elif frame.TYPE == _NACK:
        counter, kind = frame.counter, frame.nacked_type
        event = S.NACK_BUSY if frame.reason == _BUSY else S.NACK
    else:
        return None
    entry = kp.outbox.find(counter)
    if entry is None or kind != (_CHECK_IN if entry.kind == CHECKIN else _VOTE):
        return None  # an answer to a hello/status, or to a frame given up on
    return event


def broadcast(kp: "Keypad", f: "Any") -> "str | None":
    if f.TYPE == _SITTING_STATE:
        old = kp.sitting
        if old is None or old.sitting_id != f.sitting_id:
            return S.SITTING_NEW
        if f.state == _SITTING_CLOSED and old.state != _SITTING_CLOSED:
            return S.SITTING_CLOSED
        return S.SITTING_UPDATE if f != old else None
    if f.TYPE == _MOTION_OPEN:
        m = kp.motion
        if m is None or (m.motion_id, m.round, m.round_nonce) != (f.motion_id, f.round, f.round_nonce):
            return S.MOTION_OPENED
        return S.MOTION_UPDATE if (m.flags, m.focus) != (f.flags, f.focus) else None
    if f.TYPE == _MOTION_CLOSED:
        key = (f.motion_id, f.round)
        m = kp.motion
        current = m is not None and key == kp.round_key() and m.round_nonce == f.round_nonce
        return S.MOTION_CLOSED if current or kp.pending(VOTE, key) else None
    if f.TYPE == _RESULT_SUMMARY:
        return S.RESULT if f != kp.result else None
    return None
