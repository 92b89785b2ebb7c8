"""The hot path's frames on the wire: check-ins, votes and heartbeats in, acks out, quickly.

:mod:`protocol.codec` reads and writes every frame from its layout table,
one field at a time, with a check per field: the reference, and what runs
on the keypad.  The gateway reads a check-in, vote or status frame and
writes an ack for every press, so these few have a direct path here:

* :func:`decode_uplink` returns a frame only when it is certainly well formed
  (every check of ``codec.decode_for_topic`` holds); for anything else it
  hands the bytes to ``codec.decode_for_topic``, so a refusal always carries
  the reference codec's reason and message;
* :func:`encode_ack` writes an :class:`~protocol.frames.Ack` whose fields are
  in range as ``codec.encode`` would; any other value goes to ``codec.encode``
  (which refuses it with its reason).

The results are the reference codec's, byte for byte and frame for frame
(``tests/gateway/core/test_wire.py`` holds them equal over generated and
damaged frames).  Pure: no I/O.
"""

from __future__ import annotations

import struct
from typing import Final

from protocol import codec, consts, reasons, topics
from protocol.frames import Ack, CheckIn, Frame, Nack, Status, Vote

__all__ = ["decode_uplink", "encode_ack", "encode_reply"]

_V: Final = consts.VERSION
_SIG: Final = consts.SIGNATURE_LEN
_NONCE: Final = consts.NONCE_LEN
_ID_CHARS: Final = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
_SEAT_CHARS: Final = frozenset(range(0x21, 0x7F))
_U32: Final = struct.Struct(">I")
_VOTE_HEAD: Final = struct.Struct(">IIB")  # counter, motion_id, round
_CHECKIN_HEAD: Final = struct.Struct(">II")  # counter, sitting_id
_STATUS_BODY: Final = struct.Struct(">IBBBIBbI")  # counter, firmware x3, uptime_s, battery, rssi, free_heap
_ACK_HEAD: Final = struct.Struct(">BBIBBIB")  # version, type, counter, reason, acked_type, ref_id, round
_ACK_REASONS: Final = frozenset(c for c in range(256) if reasons.known(c) and not reasons.is_refusal(c))
_ACKED_TYPES: Final = frozenset(t for t in codec.CLASSES if consts.is_uplink(t))


def decode_uplink(channel: str, device_id: str, data: bytes) -> Frame:
    """``codec.decode_for_topic(channel, device_id, data)``, sooner for a well-formed check-in, vote or status."""
    frame = _fast(channel, device_id, data) if type(data) is bytes else None
    return frame if frame is not None else codec.decode_for_topic(channel, device_id, data)


def _fast(channel: str, device_id: str, data: bytes) -> Frame | None:
    n = len(data)
    if n < 3 or n > consts.UPLINK_MAX or data[0] != _V:
        return None
    end = n - _SIG
    id_len = data[2]
    pos = 3 + id_len
    if not 1 <= id_len <= topics.ID_MAX or pos > end:
        return None
    raw_id = data[3:pos]
    if raw_id[0] == 0x2D or not _ID_CHARS.issuperset(raw_id) or raw_id.decode() != device_id:
        return None
    kind = data[1]
    if kind == consts.VOTE and channel == "up":
        return _vote(data, pos, end, device_id)
    if kind == consts.CHECK_IN and channel == "up":
        if pos + 8 + _NONCE + 1 > end:
            return None
        counter, sitting_id = _CHECKIN_HEAD.unpack_from(data, pos)
        pos += 8
        nonce = data[pos : pos + _NONCE]
        pos += _NONCE
        card, pos = _card(data, pos, end)
        if card is None or pos != end or not counter or not sitting_id:
            return None
        return CheckIn(device_id, counter, sitting_id, nonce, card, data[end:])
    if kind == consts.STATUS and channel == "status":
        if pos + _STATUS_BODY.size != end:
            return None
        counter, fw0, fw1, fw2, uptime, battery, rssi, heap = _STATUS_BODY.unpack_from(data, pos)
        if not counter or (battery > 100 and battery != 0xFF):
            return None
        return Status(device_id, counter, (fw0, fw1, fw2), uptime, battery, rssi, heap, data[end:])
    return None


def _vote(data: bytes, pos: int, end: int, device_id: str) -> Vote | None:
    if pos + 9 + _NONCE + 2 > end:
        return None
    counter, motion_id, round_ = _VOTE_HEAD.unpack_from(data, pos)
    pos += 9
    nonce = data[pos : pos + _NONCE]
    pos += _NONCE
    ballot_kind, count = data[pos], data[pos + 1]
    pos += 2
    if not counter or not motion_id or not round_ or ballot_kind not in consts.BALLOT_KINDS:
        return None
    if count != 1 if ballot_kind == consts.YES_NO_ABSTAIN else not 1 <= count <= consts.ITEMS_MAX:
        return None
    packed = data[pos : pos + (count + 1) // 2]
    pos += (count + 1) // 2
    if pos > end or (count % 2 and packed[-1] & 0x0F):
        return None
    choices = tuple((packed[i >> 1] >> 4) if not i & 1 else (packed[i >> 1] & 0x0F) for i in range(count))
    if not any(choices) or max(choices) > consts.choice_max(ballot_kind):
        return None
    card, pos = _card(data, pos, end)
    if card is None or pos != end:
        return None
    return Vote(device_id, counter, motion_id, round_, nonce, ballot_kind, choices, card, data[end:])


def _card(data: bytes, pos: int, end: int) -> tuple[bytes | None, int]:
    if pos >= end:
        return None, pos
    n = data[pos]
    if n > consts.CARD_UID_MAX or pos + 1 + n > end:
        return None, pos
    return data[pos + 1 : pos + 1 + n], pos + 1 + n


def encode_ack(ack: Ack) -> bytes:
    """``codec.encode(ack)``, sooner when every field is in range."""
    choices, seat = ack.choices, ack.seat
    try:
        if (
            type(ack) is Ack
            and all(type(v) is int for v in (ack.counter, ack.reason, ack.acked_type, ack.ref_id, ack.round))
            and ack.reason in _ACK_REASONS
            and ack.acked_type in _ACKED_TYPES
            and type(choices) is tuple
            and len(choices) <= consts.ITEMS_MAX
            and all(type(c) is int and 0 <= c <= 0x0F for c in choices)
            and type(seat) is str
            and len(seat) <= consts.SEAT_LABEL_MAX
            and seat.isascii()
            and _SEAT_CHARS.issuperset(seat.encode())
        ):
            packed = bytearray((len(choices) + 1) // 2)
            for i, c in enumerate(choices):
                packed[i >> 1] |= c << 4 if not i & 1 else c
            head = _ACK_HEAD.pack(
                _V, consts.ACK, ack.counter, ack.reason, ack.acked_type, ack.ref_id, ack.round
            )
            raw_seat = seat.encode()
            return b"".join((head, bytes((len(choices),)), packed, bytes((len(raw_seat),)), raw_seat))
    except struct.error:
        pass  # a number out of its field's range: the codec names it
    return codec.encode(ack)


def encode_reply(reply: Ack | Nack) -> bytes:
    """A keypad's answer on the wire: an ack by :func:`encode_ack`, a nack by the codec."""
    return encode_ack(reply) if type(reply) is Ack else codec.encode(reply)
