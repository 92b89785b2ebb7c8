"""The keypad's side of protocol v2: encode uplink, decode downlink and broadcast, its topics.

This is what the keypad loads instead of :mod:`protocol.codec` (which the
gateway keeps, with its JSON form, the uplink decoder and its detailed
error texts) and :mod:`protocol.topics`.  It covers exactly what a keypad
does on the wire:

* :func:`seal` signs and encodes a hello, status, check-in or vote from its
  type and field values (in wire order: the ``FIELDS`` of its
  :mod:`protocol.frames` class), byte for byte as :func:`protocol.codec.seal`
  does for that frame object, and refuses with
  :class:`protocol.errors.EncodeError` and the same reason code whatever
  that refuses;
* :func:`decode` parses an ack, nack, sitting-state, motion-open,
  motion-closed or result-summary frame into a :class:`Frame`: the same
  type and field values, under the same attribute names, as the frame
  object :func:`protocol.codec.decode` gives, and refuses with
  :class:`protocol.errors.DecodeError` and the same reason code whatever
  that refuses.  An uplink frame (which a keypad never receives) is
  refused as ``UNKNOWN_TYPE``;
* :func:`topic`, :func:`hall_filter` and :func:`parse_topic` are
  :func:`protocol.topics.device`, :func:`~protocol.topics.broadcast_filter`
  and :func:`~protocol.topics.parse`.

tests/protocol/test_device.py proves the equivalence with property tests
against the full codec and topics.  Errors raised here carry the reason
code and no detail text (the gateway's full codec says which field).

The keypad does not load :mod:`protocol.frames` (thirteen classes, for the
gateway's encoding, JSON form and equality rules): it reads a received
frame's fields as attributes of one small class here and hands its own
frames to :func:`seal` as values.

The numbers are ``const()`` names with a leading underscore: MicroPython's
compiler folds them into the bytecode, so they take no room in the module's
globals; tests check them against :mod:`protocol.consts` and
:mod:`protocol.reasons`.  Field kinds are one character each (the
:mod:`struct` code for integers).
"""

import struct
import sys

from .errors import DecodeError, EncodeError, ProtocolError

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

if sys.implementation.name != "micropython":
    __all__ = ("PRESENCE_OFFLINE", "PRESENCE_ONLINE", "Frame", "decode", "hall_filter", "parse_topic", "seal", "topic")

_VERSION = const(0x02)
_HELLO = const(0x01)
_STATUS = const(0x02)
_CHECK_IN = const(0x03)
_VOTE = const(0x04)
_ACK = const(0x41)
_NACK = const(0x42)
_SITTING_STATE = const(0x81)
_MOTION_OPEN = const(0x82)
_MOTION_CLOSED = const(0x83)
_RESULT_SUMMARY = const(0x84)
_SIGNATURE_LEN = const(64)
_NONCE_LEN = const(8)
_HEAD_LEN = const(32)
_DOWNLINK_MAX = const(200)
_BROADCAST_MAX = const(512)
_ITEMS_MAX = const(32)
_CARD_UID_MAX = const(10)
_SEAT_LABEL_MAX = const(8)
_ID_MAX = const(16)
_ALL_ITEMS = const(0xFF)
_YES_NO_ABSTAIN = const(1)
_RATING = const(3)
_ABSTAIN = const(3)
_UNSATISFIED = const(4)
_FIRST_REFUSAL = const(0x10)  # reason codes from here up are refusals
_OUTCOME_MAX = const(5)
_SITTING_STATE_MAX = const(3)
_FLAG_SECRET = const(0x01)
_FLAG_PAUSED = const(0x02)
_FLAGS = const(0x03)  # FLAG_SECRET | FLAG_PAUSED
_MALFORMED = const(0x10)
_BAD_VERSION = const(0x11)
_UNKNOWN_TYPE = const(0x12)
_BAD_SIGNATURE = const(0x14)
_BAD_CHOICE = const(0x41)
_WRONG_BALLOT = const(0x40)
_EMPTY_BALLOT = const(0x42)

_KINDS = (1, 2, 3)  # ballot kinds
_UPLINK_TYPES = (_HELLO, _STATUS, _CHECK_IN, _VOTE)
# Every reason code (protocol.reasons.CODES), one byte each: an ack or nack with another is malformed.
_REASONS = (
    b"\x00\x01\x02\x03\x10\x11\x12\x13\x14\x15\x20\x21\x22\x23\x24\x25\x26"
    b"\x30\x31\x32\x33\x34\x35\x36\x40\x41\x42\x43\x50"
)
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_PREFIX = "hallvote/v2/"
_DEVICE_CHANNELS = ("up", "status", "presence", "down")
_HALL_CHANNELS = ("sitting", "motion", "result")
PRESENCE_ONLINE = b"\x01"
PRESENCE_OFFLINE = b"\x00"

# Field kinds: B u8, H u16, I u32, b i8 (struct codes); d device id, s seat label, n nonce,
# h audit head, u card uid, f firmware (3 bytes), c choices (nibbles), i result items.
_HEALTH = "dIfIBbI"
_UP = {_HELLO: _HEALTH, _STATUS: _HEALTH, _CHECK_IN: "dIInu", _VOTE: "dIIBnBcu"}
# Per downlink and broadcast type: its field kinds and field names (protocol.frames' FIELDS).
_DOWN = {
    _ACK: ("IBBIBcs", ("counter", "reason", "acked_type", "ref_id", "round", "choices", "seat")),
    _NACK: ("IBB", ("counter", "reason", "nacked_type")),
    _SITTING_STATE: (
        "IBnHHI", ("sitting_id", "state", "sitting_nonce", "expected", "present", "issued_at")
    ),
    _MOTION_OPEN: (
        "IBnBBBBBBII",
        (
            "motion_id", "round", "round_nonce", "ballot_kind", "item_count", "options", "press_policy",
            "flags", "focus", "issued_at", "deadline",
        ),
    ),
    _MOTION_CLOSED: ("IBnI", ("motion_id", "round", "round_nonce", "issued_at")),
    _RESULT_SUMMARY: (
        "IBBHHHBiIh",
        (
            "motion_id", "round", "ballot_kind", "expected", "present", "not_pressed", "outcome", "items",
            "audit_seq", "audit_head",
        ),
    ),
}


class Frame:
    """A received downlink or broadcast frame: ``TYPE`` and its fields as attributes, named and
    valued as on the :mod:`protocol.frames` object of that type (a motion-open also has ``secret``
    and ``paused``, from its flags).  Equal to a frame of the same type and field values."""

    TYPE: int
    flags: int

    def __init__(self, frame_type: int, values: "list[Any]") -> None:
        self.TYPE = frame_type
        for name, value in zip(_DOWN[frame_type][1], values):  # noqa: B905  (MicroPython's zip has no strict)
            setattr(self, name, value)
        if frame_type == _MOTION_OPEN:
            self.secret = bool(self.flags & _FLAG_SECRET)
            self.paused = bool(self.flags & _FLAG_PAUSED)

    def values(self) -> "tuple[Any, ...]":
        """The field values in wire order (as ``protocol.frames.Frame.values``)."""
        return tuple(getattr(self, name) for name in _DOWN[self.TYPE][1])

    def __eq__(self, other: object) -> bool:
        return getattr(other, "TYPE", None) == self.TYPE and other.values() == self.values()  # type: ignore[attr-defined]


def _valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= _ID_MAX
        and value[0] != "-"
        and all(ch in _ID_CHARS for ch in value)
    )


def _item_count_ok(kind: int, count: int) -> bool:
    return count == 1 if kind == _YES_NO_ABSTAIN else 1 <= count <= _ITEMS_MAX


# ---------------------------------------------------------------- encoding uplink


def _put(out: bytearray, kind: str, value: object) -> None:
    if kind in "BHIb":
        if not isinstance(value, int) or isinstance(value, bool):
            raise EncodeError(_MALFORMED)
        bits = 8 * struct.calcsize(">" + kind)
        lo = -128 if kind == "b" else 0
        if not lo <= value < lo + (1 << bits):
            raise EncodeError(_MALFORMED)
        out += struct.pack(">" + kind, value)
    elif kind == "d":
        if not _valid_id(value):
            raise EncodeError(_MALFORMED)
        assert isinstance(value, str)
        out.append(len(value))
        out += value.encode()
    elif kind == "n" or kind == "u":
        if not isinstance(value, bytes) or (
            len(value) > _CARD_UID_MAX if kind == "u" else len(value) != _NONCE_LEN
        ):
            raise EncodeError(_MALFORMED)
        if kind == "u":
            out.append(len(value))
        out += value
    elif kind == "f":
        if not isinstance(value, tuple) or len(value) != 3:
            raise EncodeError(_MALFORMED)
        for v in value:
            _put(out, "B", v)
    else:  # "c": choices, one nibble each, high nibble first
        if not isinstance(value, tuple) or len(value) > _ITEMS_MAX:
            raise EncodeError(_MALFORMED)
        out.append(len(value))
        for i, c in enumerate(value):
            if not isinstance(c, int) or not 0 <= c <= 0x0F:
                raise EncodeError(_BAD_CHOICE)
            if i % 2:
                out[-1] |= c
            else:
                out.append(c << 4)


def seal(frame_type: int, values: "tuple[object, ...]", sign: "object") -> bytes:
    """Sign an uplink frame of ``frame_type`` with field ``values`` in wire order (the ``FIELDS`` of
    its :mod:`protocol.frames` class, signature left out): ``sign(region) -> 64 bytes``; returns
    the wire bytes.

    Byte for byte :func:`protocol.codec.seal` of that frame object (an uplink frame never
    reaches the length limit, so no TOO_LONG check is needed here).
    """
    kinds = _UP.get(frame_type)
    if kinds is None:
        raise EncodeError(_UNKNOWN_TYPE)
    if not isinstance(values, tuple) or len(values) != len(kinds):
        raise EncodeError(_MALFORMED)
    out = bytearray((_VERSION, frame_type))
    for kind, value in zip(kinds, values):  # noqa: B905  (MicroPython's zip has no strict)
        _put(out, kind, value)
    # cross-field rules (``v``: the values in wire order)
    v = values
    if v[1] == 0:  # counter
        raise EncodeError(_MALFORMED)
    if frame_type == _CHECK_IN:
        if v[2] == 0:
            raise EncodeError(_MALFORMED)
    elif frame_type == _VOTE:
        ballot, choices = v[5], v[6]
        assert isinstance(choices, tuple)
        if v[2] == 0 or v[3] == 0:  # motion id, round
            raise EncodeError(_MALFORMED)
        if ballot not in _KINDS:
            raise EncodeError(_WRONG_BALLOT)
        assert isinstance(ballot, int)
        if not _item_count_ok(ballot, len(choices)):
            raise EncodeError(_WRONG_BALLOT)
        top = _UNSATISFIED if ballot == _RATING else _ABSTAIN
        for c in choices:
            if c > top:
                raise EncodeError(_BAD_CHOICE)
        if not any(choices):
            raise EncodeError(_EMPTY_BALLOT)
    else:  # hello, status: battery 0..100 percent or 255 (unknown)
        battery = v[4]
        assert isinstance(battery, int)
        if 100 < battery < 0xFF:
            raise EncodeError(_MALFORMED)
    region = bytes(out)
    signature = sign(region)  # type: ignore[operator]
    if not isinstance(signature, bytes) or len(signature) != _SIGNATURE_LEN:
        raise EncodeError(_BAD_SIGNATURE)
    return region + signature


# ---------------------------------------------------------------- decoding downlink and broadcast


def _take(data: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(data):
        raise DecodeError(_MALFORMED)
    return data[pos : pos + n]


def _get(data: bytes, pos: int, kind: str, values: "list[object]") -> int:
    """Append the field of ``kind`` at ``pos`` to ``values``; return the next position."""
    if kind in "BHIb":
        n = struct.calcsize(">" + kind)
        values.append(struct.unpack(">" + kind, _take(data, pos, n))[0])
        return pos + n
    if kind == "n" or kind == "h":
        n = _NONCE_LEN if kind == "n" else _HEAD_LEN
        values.append(_take(data, pos, n))
        return pos + n
    n = _take(data, pos, 1)[0]
    pos += 1
    if kind == "s":
        raw = _take(data, pos, n)
        if n > _SEAT_LABEL_MAX or any(not 0x21 <= ch <= 0x7E for ch in raw):
            raise DecodeError(_MALFORMED)
        values.append(raw.decode())
        return pos + n
    if kind == "c":
        if n > _ITEMS_MAX:
            raise DecodeError(_MALFORMED)
        packed = _take(data, pos, (n + 1) // 2)
        if n % 2 and packed[-1] & 0x0F:
            raise DecodeError(_MALFORMED)  # the padding nibble must be 0
        values.append(
            tuple((packed[i // 2] >> 4) if i % 2 == 0 else (packed[i // 2] & 0x0F) for i in range(n))
        )
        return pos + (n + 1) // 2
    # "i": result items, (outcome, counts) each; the ballot kind is the third field
    if not 1 <= n <= _ITEMS_MAX:
        raise DecodeError(_MALFORMED)
    kind_ = values[2]
    if kind_ not in _KINDS:
        raise DecodeError(_WRONG_BALLOT)
    width = 4 if kind_ == _RATING else 3
    items = []
    for _ in range(n):
        raw = _take(data, pos, 1 + 2 * width)
        items.append((raw[0], struct.unpack(">" + "H" * width, raw[1:])))
        pos += 1 + 2 * width
    values.append(tuple(items))
    return pos


def decode(data: bytes) -> "Any":
    """Parse a downlink or broadcast frame into a :class:`Frame`; raises DecodeError (and nothing
    else) if it is not one."""
    try:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError(_MALFORMED)
        data = bytes(data)
        if len(data) < 2:
            raise DecodeError(_MALFORMED)
        if data[0] != _VERSION:
            raise DecodeError(_BAD_VERSION)
        frame_type = data[1]
        entry = _DOWN.get(frame_type)
        if entry is None:
            raise DecodeError(_UNKNOWN_TYPE)
        if len(data) > (_DOWNLINK_MAX if frame_type < 0x80 else _BROADCAST_MAX):
            raise DecodeError(0x13)  # TOO_LONG
        values: list[Any] = []
        pos = 2
        for kind in entry[0]:
            pos = _get(data, pos, kind, values)
        if pos != len(data):
            raise DecodeError(_MALFORMED)
        # cross-field rules (``v``: the values in wire order)
        v = values
        if frame_type in (_ACK, _NACK):
            reason, about = v[1], v[2]
            refusal = frame_type == _NACK
            if (reason >= _FIRST_REFUSAL) != refusal or reason not in _REASONS:
                raise DecodeError(_MALFORMED)
            if about not in _UPLINK_TYPES and not (refusal and about == 0):
                raise DecodeError(_MALFORMED)
        elif frame_type == _SITTING_STATE:
            if v[0] == 0 or v[1] > _SITTING_STATE_MAX or v[4] > v[3]:
                raise DecodeError(_MALFORMED)
        elif frame_type == _MOTION_CLOSED:
            if v[0] == 0 or v[1] == 0:
                raise DecodeError(_MALFORMED)
        elif frame_type == _MOTION_OPEN:
            ballot, count, options, policy, flags, focus = v[3], v[4], v[5], v[6], v[7], v[8]
            if v[0] == 0 or v[1] == 0:
                raise DecodeError(_MALFORMED)
            if ballot not in _KINDS or not _item_count_ok(ballot, count):
                raise DecodeError(_WRONG_BALLOT)
            allowed = 0x1E if ballot == _RATING else 0x0E  # choice codes 1..4 or 1..3
            if not options or options & ~allowed or policy not in (1, 2) or flags & ~_FLAGS:
                raise DecodeError(_MALFORMED)
            if focus != _ALL_ITEMS and focus >= count:
                raise DecodeError(_MALFORMED)
        else:  # result summary
            ballot, expected, present, not_pressed, outcome, items = v[2], v[3], v[4], v[5], v[6], v[7]
            if v[0] == 0 or v[1] == 0 or present > expected or not_pressed > present or outcome > _OUTCOME_MAX:
                raise DecodeError(_MALFORMED)
            if not _item_count_ok(ballot, len(items)):
                raise DecodeError(_WRONG_BALLOT)
            top = _UNSATISFIED if ballot == _RATING else _OUTCOME_MAX  # a rating item's outcome is a grade
            for item in items:
                if item[0] > top:
                    raise DecodeError(_MALFORMED)
        return Frame(frame_type, values)
    except ProtocolError:
        raise
    except (ValueError, IndexError, TypeError, KeyError, UnicodeError):
        raise DecodeError(_MALFORMED) from None


# ---------------------------------------------------------------- topics


def topic(hall: str, device_id: str, channel: str) -> str:
    """``hallvote/v2/<hall>/dev/<device>/<channel>``, as :func:`protocol.topics.device`."""
    if channel not in _DEVICE_CHANNELS or not _valid_id(hall) or not _valid_id(device_id):
        raise EncodeError(_MALFORMED)
    return _PREFIX + hall + "/dev/" + device_id + "/" + channel


def hall_filter(hall: str) -> str:
    """The filter for every broadcast of a hall, as :func:`protocol.topics.broadcast_filter`."""
    if not _valid_id(hall):
        raise EncodeError(_MALFORMED)
    return _PREFIX + hall + "/hall/+"


def parse_topic(topic: str) -> "tuple[str, str, str]":
    """``(hall, device_id, channel)`` (device_id "" for a broadcast), as :func:`protocol.topics.parse`."""
    parts = topic.split("/") if isinstance(topic, str) else []
    ours = len(parts) >= 2 and parts[0] == "hallvote"
    if ours and parts[1] != "v2":
        raise DecodeError(_BAD_VERSION)
    if (
        ours
        and len(parts) == 6
        and parts[3] == "dev"
        and _valid_id(parts[4])
        and parts[5] in _DEVICE_CHANNELS
    ):
        device_id = parts[4]
    elif ours and len(parts) == 5 and parts[3] == "hall" and parts[4] in _HALL_CHANNELS:
        device_id = ""
    else:
        raise DecodeError(_MALFORMED)
    if not _valid_id(parts[2]):
        raise DecodeError(_MALFORMED)
    return parts[2], device_id, parts[-1]
