"""Bytes <-> frames for protocol v2.  Pure functions, no I/O.

Every frame is ``version (1 byte) | type (1 byte) | body``; an uplink frame
ends with a 64-byte raw ECDSA P-256 signature, and its signed region is
exactly the bytes before that signature.  The layouts below are data: one
table drives encoding, decoding, the JSON form of the test vectors and the
byte tables in SPEC.md.  Multi-byte integers are big-endian.

Decoding checks everything that can be checked without gateway state (field
ranges, ballot shape, canonical padding, exact length) and raises only
:class:`protocol.errors.DecodeError`; encoding raises
:class:`protocol.errors.EncodeError` for values the decoder would refuse, so
``decode(encode(f)) == f`` and ``encode(decode(b)) == b`` for every accepted
frame and byte string.
"""

import struct

from . import consts, reasons
from .errors import DecodeError, EncodeError, ProtocolError
from .frames import (
    Ack,
    CheckIn,
    Frame,
    Hello,
    MotionClosed,
    MotionOpen,
    Nack,
    ResultSummary,
    SittingState,
    Status,
    Uplink,
    Vote,
)

__all__ = [
    "CLASSES",
    "LAYOUTS",
    "decode",
    "decode_for_topic",
    "encode",
    "from_json",
    "seal",
    "signed_region",
    "to_json",
]

# Field kinds.  Fixed-size integers use struct codes.
_INTS = {"u8": ">B", "u16": ">H", "u32": ">I", "i8": ">b"}
_SIZES = {"u8": 1, "u16": 2, "u32": 4, "i8": 1}

_HEALTH = (
    ("device_id", "id"),
    ("counter", "u32"),
    ("firmware", "fw"),
    ("uptime_s", "u32"),
    ("battery", "u8"),
    ("rssi", "i8"),
    ("free_heap", "u32"),
)

LAYOUTS = {
    consts.HELLO: _HEALTH,
    consts.STATUS: _HEALTH,
    consts.CHECK_IN: (
        ("device_id", "id"),
        ("counter", "u32"),
        ("sitting_id", "u32"),
        ("sitting_nonce", "nonce"),
        ("card_uid", "uid"),
    ),
    consts.VOTE: (
        ("device_id", "id"),
        ("counter", "u32"),
        ("motion_id", "u32"),
        ("round", "u8"),
        ("round_nonce", "nonce"),
        ("ballot_kind", "u8"),
        ("choices", "choices"),
        ("card_uid", "uid"),
    ),
    consts.ACK: (
        ("counter", "u32"),
        ("reason", "u8"),
        ("acked_type", "u8"),
        ("ref_id", "u32"),
        ("round", "u8"),
        ("choices", "choices"),
        ("seat", "seat"),
    ),
    consts.NACK: (("counter", "u32"), ("reason", "u8"), ("nacked_type", "u8")),
    consts.SITTING_STATE: (
        ("sitting_id", "u32"),
        ("state", "u8"),
        ("sitting_nonce", "nonce"),
        ("expected", "u16"),
        ("present", "u16"),
        ("issued_at", "u32"),
    ),
    consts.MOTION_OPEN: (
        ("motion_id", "u32"),
        ("round", "u8"),
        ("round_nonce", "nonce"),
        ("ballot_kind", "u8"),
        ("item_count", "u8"),
        ("options", "u8"),
        ("press_policy", "u8"),
        ("flags", "u8"),
        ("focus", "u8"),
        ("issued_at", "u32"),
        ("deadline", "u32"),
    ),
    consts.MOTION_CLOSED: (
        ("motion_id", "u32"),
        ("round", "u8"),
        ("round_nonce", "nonce"),
        ("issued_at", "u32"),
    ),
    consts.RESULT_SUMMARY: (
        ("motion_id", "u32"),
        ("round", "u8"),
        ("ballot_kind", "u8"),
        ("expected", "u16"),
        ("present", "u16"),
        ("not_pressed", "u16"),
        ("outcome", "u8"),
        ("items", "items"),
        ("audit_seq", "u32"),
        ("audit_head", "head"),
    ),
}

CLASSES = {
    consts.HELLO: Hello,
    consts.STATUS: Status,
    consts.CHECK_IN: CheckIn,
    consts.VOTE: Vote,
    consts.ACK: Ack,
    consts.NACK: Nack,
    consts.SITTING_STATE: SittingState,
    consts.MOTION_OPEN: MotionOpen,
    consts.MOTION_CLOSED: MotionClosed,
    consts.RESULT_SUMMARY: ResultSummary,
}

# Which device channel carries which uplink type (see protocol.topics).
_CHANNEL_OF = {consts.HELLO: "status", consts.STATUS: "status", consts.CHECK_IN: "up", consts.VOTE: "up"}

_ID_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789-"


class _Bad(Exception):
    """Internal: a field check failed; the caller turns it into Decode/EncodeError."""

    def __init__(self, reason: int, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def _max_len(frame_type: int) -> int:
    if consts.is_uplink(frame_type):
        return consts.UPLINK_MAX
    if consts.is_downlink(frame_type):
        return consts.DOWNLINK_MAX
    return consts.BROADCAST_MAX


# ---------------------------------------------------------------- field checks


def _check_int(name: str, kind: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(reasons.MALFORMED, "%s must be an integer" % name)
    lo, hi = {"u8": (0, 0xFF), "u16": (0, 0xFFFF), "u32": (0, 0xFFFFFFFF), "i8": (-128, 127)}[kind]
    if not lo <= value <= hi:
        raise _Bad(reasons.MALFORMED, "%s=%d out of range %d..%d" % (name, value, lo, hi))
    return value


def _check_id(value: bytes) -> None:
    if not 1 <= len(value) <= 16 or value[0] == 0x2D:
        raise _Bad(reasons.MALFORMED, "device_id must be 1..16 characters, not starting with '-'")
    for ch in value:
        if ch not in _ID_BYTES:
            raise _Bad(reasons.MALFORMED, "device_id has a character outside a-z 0-9 -")


def _check_seat(value: bytes) -> None:
    if len(value) > consts.SEAT_LABEL_MAX:
        raise _Bad(reasons.MALFORMED, "seat label longer than %d" % consts.SEAT_LABEL_MAX)
    for ch in value:
        if not 0x21 <= ch <= 0x7E:
            raise _Bad(reasons.MALFORMED, "seat label must be printable ASCII without spaces")


def _check_choices(values: "tuple[int, ...]", limit: int) -> None:
    if len(values) > consts.ITEMS_MAX:
        raise _Bad(reasons.MALFORMED, "more than %d items" % consts.ITEMS_MAX)
    for c in values:
        if not isinstance(c, int) or not 0 <= c <= limit:
            raise _Bad(reasons.BAD_CHOICE, "choice %r outside 0..%d" % (c, limit))


def _check_nonzero(fields: "dict[str, object]", *names: str) -> None:
    for n in names:
        if fields[n] == 0:
            raise _Bad(reasons.MALFORMED, "%s must not be 0" % n)


def _check_kind(kind: object) -> int:
    if kind not in consts.BALLOT_KINDS:
        raise _Bad(reasons.WRONG_BALLOT, "unknown ballot kind %r" % (kind,))
    assert isinstance(kind, int)
    return kind


def _check_item_count(kind: int, count: int) -> None:
    if kind == consts.YES_NO_ABSTAIN:
        if count != 1:
            raise _Bad(reasons.WRONG_BALLOT, "a yes/no/abstain ballot has exactly 1 item, not %d" % count)
    elif not 1 <= count <= consts.ITEMS_MAX:
        raise _Bad(reasons.WRONG_BALLOT, "an item ballot has 1..%d items, not %d" % (consts.ITEMS_MAX, count))


def _check_frame(frame_type: int, f: "dict[str, object]") -> None:
    """Cross-field rules of each frame type (beyond each field's own range)."""
    if consts.is_uplink(frame_type):
        _check_nonzero(f, "counter")
    if frame_type in (consts.HELLO, consts.STATUS):
        battery = f["battery"]
        if not (isinstance(battery, int) and (battery <= 100 or battery == 0xFF)):
            raise _Bad(reasons.MALFORMED, "battery must be 0..100 percent or 255 (unknown)")
    elif frame_type == consts.CHECK_IN:
        _check_nonzero(f, "sitting_id")
    elif frame_type == consts.VOTE:
        _check_nonzero(f, "motion_id", "round")
        kind = _check_kind(f["ballot_kind"])
        choices = f["choices"]
        assert isinstance(choices, tuple)
        _check_item_count(kind, len(choices))
        _check_choices(choices, consts.choice_max(kind))
        if not any(choices):
            raise _Bad(reasons.EMPTY_BALLOT, "no item has a choice")
    elif frame_type == consts.ACK:
        reason = f["reason"]
        assert isinstance(reason, int)
        if reasons.is_refusal(reason) or not reasons.known(reason):
            raise _Bad(reasons.MALFORMED, "ack reason %d is not an acceptance code" % reason)
        if not consts.is_uplink(f["acked_type"]) or f["acked_type"] not in CLASSES:  # type: ignore[arg-type]
            raise _Bad(reasons.MALFORMED, "acked_type is not an uplink frame type")
    elif frame_type == consts.NACK:
        reason = f["reason"]
        assert isinstance(reason, int)
        if not reasons.is_refusal(reason) or not reasons.known(reason):
            raise _Bad(reasons.MALFORMED, "nack reason %d is not a refusal code" % reason)
        nacked = f["nacked_type"]
        if nacked != 0 and (not consts.is_uplink(nacked) or nacked not in CLASSES):  # type: ignore[arg-type]
            raise _Bad(reasons.MALFORMED, "nacked_type is not 0 or an uplink frame type")
    elif frame_type == consts.SITTING_STATE:
        _check_nonzero(f, "sitting_id")
        if f["state"] not in consts.SITTING_STATES:
            raise _Bad(reasons.MALFORMED, "unknown sitting state %r" % (f["state"],))
        _check_present(f)
    elif frame_type == consts.MOTION_OPEN:
        _check_motion_open(f)
    elif frame_type == consts.MOTION_CLOSED:
        _check_nonzero(f, "motion_id", "round")
    elif frame_type == consts.RESULT_SUMMARY:
        _check_result(f)


def _check_present(f: "dict[str, object]") -> None:
    expected, present = f["expected"], f["present"]
    assert isinstance(expected, int) and isinstance(present, int)
    if present > expected:
        raise _Bad(reasons.MALFORMED, "present %d exceeds expected %d" % (present, expected))


def _check_motion_open(f: "dict[str, object]") -> None:
    _check_nonzero(f, "motion_id", "round")
    kind = _check_kind(f["ballot_kind"])
    count = f["item_count"]
    assert isinstance(count, int)
    _check_item_count(kind, count)
    options = f["options"]
    assert isinstance(options, int)
    allowed = ((1 << (consts.choice_max(kind) + 1)) - 1) & ~1
    if options == 0 or options & ~allowed:
        raise _Bad(reasons.MALFORMED, "options mask 0x%02x invalid for ballot kind %d" % (options, kind))
    if f["press_policy"] not in consts.PRESS_POLICIES:
        raise _Bad(reasons.MALFORMED, "unknown press policy %r" % (f["press_policy"],))
    flags = f["flags"]
    assert isinstance(flags, int)
    if flags & ~(consts.FLAG_SECRET | consts.FLAG_PAUSED):
        raise _Bad(reasons.MALFORMED, "unknown flag bits 0x%02x" % flags)
    focus = f["focus"]
    assert isinstance(focus, int)
    if focus != consts.ALL_ITEMS and focus >= count:
        raise _Bad(reasons.MALFORMED, "focus item %d outside 0..%d" % (focus, count - 1))


def _check_result(f: "dict[str, object]") -> None:
    _check_nonzero(f, "motion_id", "round")
    kind = _check_kind(f["ballot_kind"])
    _check_present(f)
    not_pressed, present = f["not_pressed"], f["present"]
    assert isinstance(not_pressed, int) and isinstance(present, int)
    if not_pressed > present:
        raise _Bad(reasons.MALFORMED, "not_pressed %d exceeds present %d" % (not_pressed, present))
    if f["outcome"] not in consts.OUTCOMES:
        raise _Bad(reasons.MALFORMED, "unknown outcome %r" % (f["outcome"],))
    items = f["items"]
    assert isinstance(items, tuple)
    _check_item_count(kind, len(items))
    width = consts.options_per_item(kind)
    for outcome, counts in items:
        if kind == consts.RATING:
            if not 0 <= outcome <= consts.UNSATISFIED:
                raise _Bad(reasons.MALFORMED, "rating item outcome %r is not a grade" % (outcome,))
        elif outcome not in consts.OUTCOMES:
            raise _Bad(reasons.MALFORMED, "unknown item outcome %r" % (outcome,))
        if len(counts) != width:
            raise _Bad(
                reasons.MALFORMED, "item has %d counts, ballot kind %d needs %d" % (len(counts), kind, width)
            )
        for c in counts:
            _check_int("count", "u16", c)


# ---------------------------------------------------------------- encoding


def _put_field(out: "list[bytes]", name: str, kind: str, value: object, fields: "dict[str, object]") -> None:
    if kind in _INTS:
        out.append(struct.pack(_INTS[kind], _check_int(name, kind, value)))
    elif kind == "id":
        raw = value.encode() if isinstance(value, str) else b""
        if not isinstance(value, str) or len(raw) != len(value):
            raise _Bad(reasons.MALFORMED, "device_id must be an ASCII string")
        _check_id(raw)
        out.append(bytes([len(raw)]) + raw)
    elif kind == "seat":
        raw = value.encode() if isinstance(value, str) else b""
        if not isinstance(value, str) or len(raw) != len(value):
            raise _Bad(reasons.MALFORMED, "seat label must be an ASCII string")
        _check_seat(raw)
        out.append(bytes([len(raw)]) + raw)
    elif kind == "nonce":
        if not isinstance(value, bytes) or len(value) != consts.NONCE_LEN:
            raise _Bad(reasons.MALFORMED, "%s must be %d bytes" % (name, consts.NONCE_LEN))
        out.append(value)
    elif kind == "head":
        if not isinstance(value, bytes) or len(value) != consts.HEAD_LEN:
            raise _Bad(reasons.MALFORMED, "%s must be %d bytes" % (name, consts.HEAD_LEN))
        out.append(value)
    elif kind == "uid":
        if not isinstance(value, bytes) or len(value) > consts.CARD_UID_MAX:
            raise _Bad(reasons.MALFORMED, "card_uid must be at most %d bytes" % consts.CARD_UID_MAX)
        out.append(bytes([len(value)]) + value)
    elif kind == "fw":
        if not isinstance(value, tuple) or len(value) != 3:
            raise _Bad(reasons.MALFORMED, "firmware must be (major, minor, patch)")
        out.append(bytes([_check_int("firmware", "u8", v) for v in value]))
    elif kind == "choices":
        if not isinstance(value, tuple):
            raise _Bad(reasons.MALFORMED, "choices must be a tuple")
        _check_choices(value, 0x0F)
        packed = bytearray((len(value) + 1) // 2)
        for i, c in enumerate(value):
            packed[i // 2] |= c << 4 if i % 2 == 0 else c
        out.append(bytes([len(value)]) + bytes(packed))
    elif kind == "items":
        if not isinstance(value, tuple) or not 1 <= len(value) <= consts.ITEMS_MAX:
            raise _Bad(reasons.MALFORMED, "items must be 1..%d (outcome, counts) pairs" % consts.ITEMS_MAX)
        out.append(bytes([len(value)]))
        for outcome, counts in value:
            out.append(struct.pack(">B", _check_int("outcome", "u8", outcome)))
            for c in counts:
                out.append(struct.pack(">H", _check_int("count", "u16", c)))


def _encode_body(frame: Frame) -> bytes:
    frame_type = frame.TYPE
    layout = LAYOUTS.get(frame_type)
    if layout is None or CLASSES.get(frame_type) is not type(frame):
        raise EncodeError(reasons.UNKNOWN_TYPE, "not a protocol v2 frame: %r" % (frame,))
    fields = frame.as_dict()
    out: list[bytes] = [bytes([consts.VERSION, frame_type])]
    try:
        for name, kind in layout:
            _put_field(out, name, kind, fields[name], fields)
        _check_frame(frame_type, fields)
    except _Bad as bad:
        raise EncodeError(bad.reason, "%s: %s" % (frame.name, bad.detail)) from None
    return b"".join(out)


def signed_region(frame: Uplink) -> bytes:
    """The exact bytes a keypad signs for an uplink frame (everything before the signature)."""
    if not isinstance(frame, Uplink):
        raise EncodeError(reasons.UNKNOWN_TYPE, "only uplink frames are signed")
    region = _encode_body(frame)
    if len(region) + consts.SIGNATURE_LEN > consts.UPLINK_MAX:
        raise EncodeError(reasons.TOO_LONG, "uplink frame longer than %d bytes" % consts.UPLINK_MAX)
    return region


def seal(frame: Uplink, sign: "object") -> bytes:
    """Sign an uplink frame: ``sign(region) -> 64 bytes``; returns the wire bytes."""
    region = signed_region(frame)
    signature = sign(region)  # type: ignore[operator]
    if not isinstance(signature, bytes) or len(signature) != consts.SIGNATURE_LEN:
        raise EncodeError(reasons.BAD_SIGNATURE, "signer must return %d bytes" % consts.SIGNATURE_LEN)
    return region + signature


def encode(frame: Frame) -> bytes:
    """Wire bytes of a frame.  An uplink frame must carry its 64-byte signature."""
    if isinstance(frame, Uplink):
        if not isinstance(frame.signature, bytes) or len(frame.signature) != consts.SIGNATURE_LEN:
            raise EncodeError(reasons.BAD_SIGNATURE, "uplink frame needs a 64-byte signature (use seal)")
        return signed_region(frame) + frame.signature
    data = _encode_body(frame)
    if len(data) > _max_len(frame.TYPE):
        raise EncodeError(reasons.TOO_LONG, "%s longer than %d bytes" % (frame.name, _max_len(frame.TYPE)))
    return data


# ---------------------------------------------------------------- decoding


class _Reader:
    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise _Bad(reasons.MALFORMED, "truncated in %s" % what)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]


def _get_field(r: _Reader, name: str, kind: str, fields: "dict[str, object]") -> object:
    if kind in _INTS:
        value: int = struct.unpack(_INTS[kind], r.take(_SIZES[kind], name))[0]
        return value
    if kind == "id":
        raw = r.take(r.byte(name), name)
        _check_id(raw)
        return raw.decode()
    if kind == "seat":
        raw = r.take(r.byte(name), name)
        _check_seat(raw)
        return raw.decode()
    if kind == "nonce":
        return bytes(r.take(consts.NONCE_LEN, name))
    if kind == "head":
        return bytes(r.take(consts.HEAD_LEN, name))
    if kind == "uid":
        n = r.byte(name)
        if n > consts.CARD_UID_MAX:
            raise _Bad(reasons.MALFORMED, "card_uid length %d > %d" % (n, consts.CARD_UID_MAX))
        return bytes(r.take(n, name))
    if kind == "fw":
        raw = r.take(3, name)
        return (raw[0], raw[1], raw[2])
    if kind == "choices":
        n = r.byte(name)
        if n > consts.ITEMS_MAX:
            raise _Bad(reasons.MALFORMED, "%d items > %d" % (n, consts.ITEMS_MAX))
        packed = r.take((n + 1) // 2, name)
        if n % 2 and packed[-1] & 0x0F:
            raise _Bad(reasons.MALFORMED, "padding nibble of choices is not 0")
        return tuple((packed[i // 2] >> 4) if i % 2 == 0 else (packed[i // 2] & 0x0F) for i in range(n))
    if kind == "items":
        n = r.byte(name)
        if not 1 <= n <= consts.ITEMS_MAX:
            raise _Bad(reasons.MALFORMED, "result has %d items, not 1..%d" % (n, consts.ITEMS_MAX))
        ballot_kind = fields.get("ballot_kind")
        if ballot_kind not in consts.BALLOT_KINDS:
            raise _Bad(reasons.WRONG_BALLOT, "unknown ballot kind %r" % (ballot_kind,))
        assert isinstance(ballot_kind, int)
        width = consts.options_per_item(ballot_kind)
        items = []
        for _ in range(n):
            outcome = r.byte("item outcome")
            counts = struct.unpack(">" + "H" * width, r.take(2 * width, "item counts"))
            items.append((outcome, tuple(counts)))
        return tuple(items)
    raise _Bad(reasons.MALFORMED, "unknown field kind %s" % kind)


def decode(data: bytes) -> Frame:
    """Parse wire bytes into a frame; raises DecodeError (and nothing else) if they are not one."""
    try:
        return _decode(data)
    except ProtocolError:
        raise
    except _Bad as bad:
        raise DecodeError(bad.reason, bad.detail) from None
    except (ValueError, IndexError, TypeError, KeyError, UnicodeError) as exc:
        raise DecodeError(reasons.MALFORMED, "unreadable frame (%s)" % type(exc).__name__) from None


def _decode(data: bytes) -> Frame:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(reasons.MALFORMED, "frame must be bytes")
    data = bytes(data)
    if len(data) < 2:
        raise DecodeError(reasons.MALFORMED, "frame shorter than its 2-byte header")
    if data[0] != consts.VERSION:
        raise DecodeError(reasons.BAD_VERSION, "version %d, this is protocol v%d" % (data[0], consts.VERSION))
    frame_type = data[1]
    layout = LAYOUTS.get(frame_type)
    if layout is None:
        raise DecodeError(reasons.UNKNOWN_TYPE, "frame type 0x%02x" % frame_type)
    if len(data) > _max_len(frame_type):
        raise DecodeError(reasons.TOO_LONG, "%d bytes > %d" % (len(data), _max_len(frame_type)))
    end = len(data)
    signature = b""
    if consts.is_uplink(frame_type):
        end -= consts.SIGNATURE_LEN
        if end < 2:
            raise DecodeError(reasons.MALFORMED, "uplink frame shorter than its signature")
        signature = data[end:]
    reader = _Reader(data, 2, end)
    fields: dict[str, object] = {}
    for name, kind in layout:
        fields[name] = _get_field(reader, name, kind, fields)
    if reader.pos != end:
        raise DecodeError(reasons.MALFORMED, "%d trailing bytes" % (end - reader.pos))
    _check_frame(frame_type, fields)
    if signature:
        fields["signature"] = signature
    return CLASSES[frame_type](**fields)  # type: ignore[no-any-return]


def decode_for_topic(channel: str, device_id: str, data: bytes) -> Frame:
    """Decode an uplink frame received on ``dev/<device_id>/<channel>``.

    Also refuses a frame type that does not belong on that channel, and a
    frame whose device id differs from the topic's (DEVICE_MISMATCH).
    """
    head = bytes(data[:2]) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    if len(head) == 2 and head[0] == consts.VERSION and head[1] in LAYOUTS and _CHANNEL_OF.get(head[1]) != channel:
        # Section 2's order: the type is checked against the channel before the length and any field.
        raise DecodeError(
            reasons.UNKNOWN_TYPE,
            "%s frame is not carried on channel %r" % (consts.FRAME_NAMES.get(head[1], "frame"), channel),
        )
    frame = decode(data)
    if not isinstance(frame, Uplink) or _CHANNEL_OF.get(frame.TYPE) != channel:
        raise DecodeError(
            reasons.UNKNOWN_TYPE, "%s frame is not carried on channel %r" % (frame.name, channel)
        )
    if frame.device_id != device_id:
        raise DecodeError(
            reasons.DEVICE_MISMATCH, "frame says device %r, topic says %r" % (frame.device_id, device_id)
        )
    return frame


# ---------------------------------------------------------------- JSON form (vectors, logs)


def _hex(b: bytes) -> str:
    return "".join("%02x" % x for x in b)


def _unhex(s: object) -> bytes:
    if not isinstance(s, str) or len(s) % 2:
        raise ValueError("expected an even-length hex string")
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


def to_json(frame: Frame) -> "dict[str, object]":
    """A JSON-ready dict: ``{"type": name, "fields": {...}}`` (+ ``"signature"`` hex for uplinks)."""
    layout = LAYOUTS[frame.TYPE]
    out: dict[str, object] = {}
    for name, kind in layout:
        value = getattr(frame, name)
        if kind in ("nonce", "uid", "head"):
            out[name] = _hex(value)
        elif kind == "fw" or kind == "choices":
            out[name] = list(value)
        elif kind == "items":
            out[name] = [[o, list(c)] for o, c in value]
        else:
            out[name] = value
    result: dict[str, object] = {"type": frame.name, "fields": out}
    if isinstance(frame, Uplink) and frame.signature:
        result["signature"] = _hex(frame.signature)
    return result


def from_json(obj: "dict[str, object]") -> Frame:
    """The inverse of :func:`to_json`; raises ValueError or KeyError on a bad dict."""
    frame_type = 0
    for code, label in consts.FRAME_NAMES.items():
        if label == obj["type"]:
            frame_type = code
    if frame_type not in LAYOUTS:
        raise ValueError("unknown frame type %r" % (obj["type"],))
    raw = obj["fields"]
    if not isinstance(raw, dict):
        raise ValueError("fields must be an object")
    fields: dict[str, object] = {}
    for name, kind in LAYOUTS[frame_type]:
        value = raw[name]
        if kind in ("nonce", "uid", "head"):
            fields[name] = _unhex(value)
        elif kind == "fw" or kind == "choices":
            fields[name] = tuple(value)
        elif kind == "items":
            fields[name] = tuple((o, tuple(c)) for o, c in value)
        else:
            fields[name] = value
    if "signature" in obj:
        fields["signature"] = _unhex(obj["signature"])
    return CLASSES[frame_type](**fields)  # type: ignore[no-any-return]
