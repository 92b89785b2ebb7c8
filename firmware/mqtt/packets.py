"""MQTT 3.1.1, the keypad's side (sans-I/O): bytes for what it sends, tuples for what it receives.

This is the only MQTT codec the keypad loads, so it is functions, not
packet classes (each class costs the keypad a type, a dict and its methods):

* encoders return the packet's bytes: :func:`connect`, :func:`publish`,
  :func:`puback`, :func:`subscribe`, and the constants
  :data:`PINGREQ_PACKET` and :data:`DISCONNECT_PACKET`;
* :func:`parse` takes the first whole packet off a byte buffer and
  :func:`decode` decodes one, each into a tuple whose first item is the
  packet type (the fixed header's high nibble):

  ====================  ==================================================
  CONNACK (2)           ``(2, session_present, return_code)``
  PUBLISH (3)           ``(3, topic, payload, qos, retain, dup, packet_id)``
                        (``packet_id`` None at QoS 0)
  PUBACK (4)            ``(4, packet_id)``
  SUBACK (9)            ``(9, packet_id, return_codes)`` (bytes: granted QoS
                        0..2 or ``SUBACK_FAILURE``, one per filter)
  PINGRESP (13)         ``(13,)``
  ====================  ==================================================

  Any other packet type is an :class:`MQTTProtocolError`: the keypad never
  asks for what would bring one (UNSUBSCRIBE, QoS 2), and the rest only a
  broker receives.

The host's :mod:`firmware.mqtt.codec` has both directions as packet
classes (equality, repr, the broker's side, QoS 2, UNSUBSCRIBE) for test
brokers and benches; it encodes and decodes the packets above through
these functions, so the two agree byte for byte.  The keypad never
imports it.

Rules (MQTT 3.1.1, OASIS standard, 2014):

* Every packet is ``fixed header byte | remaining length (1..4 byte varint) |
  body``.  The remaining length is at most 268435455.
* Strings are UTF-8 with a 2-byte big-endian length, never longer than 65535
  bytes and never containing U+0000.
* Decoding is strict: wrong fixed-header flags, a packet type the keypad
  does not receive, bad lengths, trailing bytes, QoS 3, DUP on QoS 0, packet
  id 0, wildcards in a PUBLISH topic, an empty SUBACK and the like all raise
  :class:`MQTTProtocolError`.  Nothing else is ever raised on any input.
* Encoding checks its arguments the same way and raises the same error.

Runs on MicroPython and CPython.  The numbers are ``const()`` names with a
leading underscore, folded into the bytecode by MicroPython's compiler;
tests check them against the codec's.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, NoReturn

    Received = tuple[Any, ...]  # one of the tuples in the module docstring

__all__ = (
    "CONNACK_MESSAGES",
    "DISCONNECT_PACKET",
    "PINGREQ_PACKET",
    "SUBACK_FAILURE",
    "MQTTError",
    "MQTTProtocolError",
    "connect",
    "decode",
    "parse",
    "puback",
    "publish",
    "subscribe",
    "valid_topic_filter",
    "valid_topic_name",
)

_CONNACK = const(2)
_PUBLISH = const(3)
_PUBACK = const(4)
_SUBACK = const(9)
_PINGRESP = const(13)
_MAX_REMAINING = const(268435455)
_MAX_STRING = const(0xFFFF)

SUBACK_FAILURE = 0x80
# CONNACK return codes 0..5, in order
CONNACK_MESSAGES = (
    "accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"


class MQTTError(Exception):
    """Base of the client's MQTT errors."""


class MQTTProtocolError(MQTTError):
    """Bytes that are not a well-formed MQTT 3.1.1 packet, or values that cannot be encoded."""


def _fail(msg: str) -> "NoReturn":
    raise MQTTProtocolError(msg)


def valid_topic_name(topic: object) -> bool:
    """True for a topic one may PUBLISH to: non-empty, no ``+`` or ``#``."""
    return isinstance(topic, str) and len(topic) > 0 and "+" not in topic and "#" not in topic


def valid_topic_filter(flt: object) -> bool:
    """True for a well-formed subscription filter (``+`` fills a level, ``#`` only last)."""
    if not isinstance(flt, str) or not flt:
        return False
    levels = flt.split("/")
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != last):
            return False
        if "+" in level and level != "+":
            return False
    return True


# ---------------------------------------------------------------- encoding


def _u16(n: int) -> bytes:
    return bytes((n >> 8, n & 0xFF))


def _frame(first: int, body: bytes) -> bytes:
    """The fixed header (type and flags byte, remaining length varint) and ``body``."""
    n = len(body)
    if n > _MAX_REMAINING:
        _fail("remaining length out of range: %d" % n)
    head = bytearray((first,))
    while True:
        low = n & 0x7F
        n >>= 7
        head.append(low | 0x80 if n else low)
        if not n:
            return bytes(head) + body


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        _fail("%s must be bytes, not %s" % (what, type(value).__name__))
    return bytes(value)


def _bin(data: bytes, what: str) -> bytes:
    """``data`` with its 2-byte length in front."""
    if len(data) > _MAX_STRING:
        _fail("%s longer than 65535 bytes" % what)
    return _u16(len(data)) + data


def _str(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        _fail("%s must be str, not %s" % (what, type(value).__name__))
    if "\x00" in value:
        _fail("%s contains U+0000" % what)
    return _bin(value.encode("utf-8"), what)


def _pid(pid: object) -> bytes:
    if not isinstance(pid, int) or isinstance(pid, bool) or not 1 <= pid <= 0xFFFF:
        _fail("packet id must be 1..65535: %r" % (pid,))
    return _u16(pid)


def _qos(qos: object) -> int:
    if not isinstance(qos, int) or isinstance(qos, bool) or not 0 <= qos <= 2:
        _fail("QoS must be 0..2: %r" % (qos,))
    return qos


def connect(
    client_id: str,
    clean_session: bool = True,
    keepalive: int = 60,
    will: "tuple[str, bytes, int, bool] | None" = None,
    username: "str | None" = None,
    password: "bytes | str | None" = None,
) -> bytes:
    """CONNECT.  ``will`` is ``(topic, message, qos, retain)`` or None; a str password is UTF-8."""
    if not isinstance(keepalive, int) or not 0 <= keepalive <= 0xFFFF:
        _fail("keepalive must be 0..65535 s: %r" % (keepalive,))
    flags = 0x02 if clean_session else 0
    tail = _str(client_id, "client id")
    if will is not None:
        topic, message, qos, retain = will
        if not valid_topic_name(topic):
            _fail("bad will topic %r" % (topic,))
        flags |= 0x04 | (_qos(qos) << 3) | (0x20 if retain else 0)
        tail += _str(topic, "will topic") + _bin(_bytes(message, "will message"), "will message")
    if username is not None:
        flags |= 0x80
        tail += _str(username, "username")
    if password is not None:
        if username is None:
            _fail("password without username")
        flags |= 0x40
        raw = password.encode("utf-8") if isinstance(password, str) else password
        tail += _bin(_bytes(raw, "password"), "password")
    # protocol name "MQTT", level 4 (3.1.1), then the flags and the keepalive
    return _frame(0x10, b"\x00\x04MQTT\x04" + bytes((flags,)) + _u16(keepalive) + tail)


def publish(
    topic: str,
    payload: bytes,
    qos: int = 0,
    retain: bool = False,
    dup: bool = False,
    packet_id: "int | None" = None,
) -> bytes:
    """PUBLISH; ``packet_id`` is required at QoS 1 and 2 and absent at QoS 0, like DUP."""
    if not valid_topic_name(topic):
        _fail("bad PUBLISH topic %r" % (topic,))
    first = (_PUBLISH << 4) | (_qos(qos) << 1) | (1 if retain else 0)
    body = _str(topic, "topic")
    if qos:
        body += _pid(packet_id)
        if dup:
            first |= 0x08
    elif dup or packet_id is not None:
        _fail("DUP or packet id on a QoS 0 PUBLISH")
    return _frame(first, body + _bytes(payload, "payload"))


def puback(packet_id: int) -> bytes:
    return _frame(_PUBACK << 4, _pid(packet_id))


def subscribe(packet_id: int, topics: "list[tuple[str, int]]") -> bytes:
    """SUBSCRIBE to ``topics``, a list of ``(filter, max_qos)``."""
    if not topics:
        _fail("SUBSCRIBE without topics")
    body = _pid(packet_id)
    for flt, qos in topics:
        if not valid_topic_filter(flt):
            _fail("bad topic filter %r" % (flt,))
        body += _str(flt, "topic filter") + bytes((_qos(qos),))
    return _frame(0x82, body)  # SUBSCRIBE's flags are 0b0010


# ---------------------------------------------------------------- decoding


def _check_first(first: int) -> int:
    """The packet type of a fixed-header byte, if it is one the keypad receives."""
    kind = first >> 4
    if kind not in (_CONNACK, _PUBLISH, _PUBACK, _SUBACK, _PINGRESP):
        reserved = kind in (0, 15)
        _fail(
            ("reserved packet type %d" if reserved else "packet type %d is not one this client receives")
            % kind
        )
    if kind != _PUBLISH and first & 0x0F:
        _fail("bad fixed header flags 0x%02x" % first)
    return kind


def _size(n: int, want: int) -> None:
    if n < want:
        _fail("packet truncated")
    if n > want:
        _fail("%d trailing bytes" % (n - want))


def _u16_at(body: bytes, at: int) -> int:
    if len(body) < at + 2:
        _fail("packet truncated")
    return (body[at] << 8) | body[at + 1]


def _pid_at(body: bytes, at: int) -> int:
    pid = _u16_at(body, at)
    if not pid:
        _fail("packet id 0")
    return pid


def _text(raw: bytes, what: str) -> str:
    """UTF-8 without U+0000, as every MQTT string must be."""
    try:
        text = bytes(raw).decode("utf-8")
    except (UnicodeError, ValueError):
        _fail("%s is not UTF-8" % what)
    if "\x00" in text:
        _fail("%s contains U+0000" % what)
    return text


def decode(first: int, body: bytes) -> "Received":
    """One packet from its fixed-header byte and its body (after the length), as a tuple."""
    kind = _check_first(first)
    n = len(body)
    if kind == _PUBLISH:
        qos = (first >> 1) & 3
        dup = bool(first & 0x08)
        if qos == 3:
            _fail("PUBLISH QoS 3")
        if dup and not qos:
            _fail("DUP on a QoS 0 PUBLISH")
        end = 2 + _u16_at(body, 0)
        if end > n:
            _fail("packet truncated")
        topic = _text(body[2:end], "topic")
        if not valid_topic_name(topic):
            _fail("bad PUBLISH topic")
        pid = None
        if qos:
            pid = _pid_at(body, end)
            end += 2
        return (_PUBLISH, topic, bytes(body[end:]), qos, bool(first & 0x01), dup, pid)
    if kind == _CONNACK:
        _size(n, 2)
        ack, code = body[0], body[1]
        if ack & 0xFE:
            _fail("reserved CONNACK flags set")
        if code > 5:
            _fail("CONNACK return code %d" % code)
        if ack and code:
            _fail("session present on a refused CONNACK")
        return (_CONNACK, bool(ack), code)
    if kind == _PINGRESP:
        _size(n, 0)
        return (_PINGRESP,)
    pid = _pid_at(body, 0)
    if kind == _PUBACK:
        _size(n, 2)
        return (_PUBACK, pid)
    codes = bytes(body[2:])  # SUBACK
    if not codes:
        _fail("SUBACK without return codes")
    for code in codes:
        if code > 2 and code != SUBACK_FAILURE:
            _fail("bad SUBACK return code %d" % code)
    return (_SUBACK, pid, codes)


def _extent(buf: bytes, max_packet: int) -> "tuple[int, int] | None":
    """Where the body of the packet at the start of ``buf`` starts and where the packet ends;
    None until its length is known and all of it is in ``buf``."""
    length = 0
    i = 1
    while True:
        if i >= len(buf):
            return None
        b = buf[i]
        length |= (b & 0x7F) << (7 * (i - 1))
        i += 1
        if not b & 0x80:
            break
        if i == 5:
            _fail("remaining length longer than 4 bytes")
    total = i + length
    if total > max_packet:
        _fail("packet of %d bytes exceeds the limit of %d" % (total, max_packet))
    if len(buf) < total:
        return None
    return i, total


def parse(buf: bytes, max_packet: int = _MAX_REMAINING + 5) -> "tuple[Received | None, int]":
    """The first whole packet in ``buf`` and how many bytes it took, or ``(None, 0)`` while
    more are needed.  The fixed-header byte is checked as soon as it is there, and a packet
    longer than ``max_packet`` bytes is refused from its length alone."""
    if not buf:
        return None, 0
    _check_first(buf[0])
    at = _extent(buf, max_packet)
    if at is None:
        return None, 0
    return decode(buf[0], buf[at[0] : at[1]]), at[1]
