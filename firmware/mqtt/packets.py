"""MQTT 3.1.1 packets, the client's side: what the keypad loads (sans-I/O, no sockets).

It encodes what a client sends (CONNECT, PUBLISH, PUBACK, SUBSCRIBE,
UNSUBSCRIBE, PINGREQ, DISCONNECT) and decodes what a broker sends a client
(CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP); any other packet
type from the broker is an :class:`MQTTProtocolError`.  The other
directions (a broker's side, and QoS 2's PUBREC/PUBREL/PUBCOMP) are in
:mod:`firmware.mqtt.codec`, which completes these same classes when it is
imported: the keypad never imports it.

Runs on MicroPython and CPython: no dataclasses, no typing at run time,
``struct`` only.  The wire helpers both sides share (errors, the remaining
length varint, strings, a bounded reader) are here too: one module is less
heap on the keypad than two.

Rules (MQTT 3.1.1, OASIS standard, 2014):

* Every packet is ``fixed header byte | remaining length (1..4 byte varint) |
  body``.  The remaining length is at most 268435455.
* Strings are UTF-8 with a 2-byte big-endian length, never longer than 65535
  bytes and never containing U+0000.
* Decoding is strict: wrong fixed-header flags, a reserved packet type, bad
  lengths, trailing bytes, QoS 3, DUP on QoS 0, packet id 0, wildcards in a
  PUBLISH topic, an empty SUBSCRIBE and the like all raise
  :class:`MQTTProtocolError`.  Nothing else is ever raised on any input.
* Encoding checks its arguments the same way and raises the same error, so
  a packet that encodes always decodes back to an equal packet.

:class:`Parser` is incremental: ``feed(bytes)`` returns the complete packets
seen so far and keeps the rest, so a packet split across reads and several
packets in one read both work.  After an error it stays failed.
"""

import struct

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = (
    "ACCEPTED",
    "CONNACK",
    "CONNACK_MESSAGES",
    "CONNECT",
    "DISCONNECT",
    "MAX_REMAINING",
    "PINGREQ",
    "PINGRESP",
    "PUBACK",
    "PUBCOMP",
    "PUBLISH",
    "PUBREC",
    "PUBREL",
    "REFUSED_BAD_CREDENTIALS",
    "REFUSED_IDENTIFIER",
    "REFUSED_NOT_AUTHORIZED",
    "REFUSED_PROTOCOL_VERSION",
    "REFUSED_SERVER_UNAVAILABLE",
    "SUBACK",
    "SUBACK_FAILURE",
    "SUBSCRIBE",
    "UNSUBACK",
    "UNSUBSCRIBE",
    "Connack",
    "Connect",
    "Disconnect",
    "MQTTError",
    "MQTTProtocolError",
    "Packet",
    "Parser",
    "Pingreq",
    "Pingresp",
    "Puback",
    "Publish",
    "Suback",
    "Subscribe",
    "Unsuback",
    "Unsubscribe",
    "decode",
    "valid_topic_filter",
    "valid_topic_name",
)

# ---------------------------------------------------------------- wire helpers

MAX_REMAINING = 268435455


class MQTTError(Exception):
    """Base of the client's MQTT errors."""


class MQTTProtocolError(MQTTError):
    """Bytes that are not a well-formed MQTT 3.1.1 packet, or values that cannot be encoded."""


def _fail(msg: str) -> "NoReturn":
    raise MQTTProtocolError(msg)


def _varint(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING:
        _fail("remaining length out of range: %d" % n)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _as_bytes(value: object, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    _fail("%s must be bytes, not %s" % (what, type(value).__name__))


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        _fail("%s must be str, not %s" % (what, type(value).__name__))
    if "\x00" in value:
        _fail("%s contains U+0000" % what)
    return value


def _enc_str(value: object, what: str) -> bytes:
    return _enc_bin(_check_str(value, what).encode("utf-8"), what)


def _enc_bin(data: bytes, what: str) -> bytes:
    if len(data) > 0xFFFF:
        _fail("%s longer than 65535 bytes" % what)
    return struct.pack("!H", len(data)) + data


def _check_pid(pid: object) -> int:
    if not isinstance(pid, int) or isinstance(pid, bool) or not 1 <= pid <= 0xFFFF:
        _fail("packet id must be 1..65535: %r" % (pid,))
    return pid


def _check_qos(qos: object, top: int = 2) -> int:
    if not isinstance(qos, int) or isinstance(qos, bool) or not 0 <= qos <= top:
        _fail("QoS must be 0..%d: %r" % (top, qos))
    return qos


def _frame(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _varint(len(body)) + body


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


class _Reader:
    """Cursor over a packet body; every read past the end is a protocol error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left():
            _fail("packet truncated")
        start = self.pos
        self.pos += n
        return bytes(self.data[start : self.pos])

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        b = self.take(2)
        return (b[0] << 8) | b[1]

    def pid(self) -> int:
        pid = self.u16()
        if pid == 0:
            _fail("packet id 0")
        return pid

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self, what: str) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except (UnicodeError, ValueError):
            _fail("%s is not UTF-8" % what)
        if "\x00" in text:
            _fail("%s contains U+0000" % what)
        return text

    def rest(self) -> bytes:
        return self.take(self.left())

    def end(self) -> None:
        if self.left():
            _fail("%d trailing bytes" % self.left())


# ---------------------------------------------------------------- packet types

CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14

ACCEPTED = 0
REFUSED_PROTOCOL_VERSION = 1
REFUSED_IDENTIFIER = 2
REFUSED_SERVER_UNAVAILABLE = 3
REFUSED_BAD_CREDENTIALS = 4
REFUSED_NOT_AUTHORIZED = 5
CONNACK_MESSAGES = (
    "accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)

SUBACK_FAILURE = 0x80
PROTOCOL_NAME = "MQTT"
PROTOCOL_LEVEL = 4


# ---------------------------------------------------------------- packets


class Packet:
    """Base of all packets: equality and repr over ``FIELDS``."""

    TYPE = 0
    FIELDS: "tuple[str, ...]" = ()

    def _values(self) -> "tuple[object, ...]":
        return tuple(getattr(self, f) for f in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        parts = ["%s=%r" % (f, getattr(self, f)) for f in self.FIELDS]
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))

    def encode(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        raise NotImplementedError


class Connect(Packet):
    TYPE = CONNECT
    FIELDS = (
        "client_id",
        "clean_session",
        "keepalive",
        "will_topic",
        "will_message",
        "will_qos",
        "will_retain",
        "username",
        "password",
    )

    def __init__(
        self,
        client_id: str,
        clean_session: bool = True,
        keepalive: int = 60,
        will_topic: "str | None" = None,
        will_message: bytes = b"",
        will_qos: int = 0,
        will_retain: bool = False,
        username: "str | None" = None,
        password: "bytes | str | None" = None,
    ) -> None:
        self.client_id = client_id
        self.clean_session = bool(clean_session)
        self.keepalive = keepalive
        self.will_topic = will_topic
        self.will_message = will_message
        self.will_qos = will_qos
        self.will_retain = bool(will_retain)
        self.username = username
        self.password = password.encode("utf-8") if isinstance(password, str) else password

    def encode(self) -> bytes:
        flags = 0x02 if self.clean_session else 0
        if not isinstance(self.keepalive, int) or not 0 <= self.keepalive <= 0xFFFF:
            _fail("keepalive must be 0..65535 s: %r" % (self.keepalive,))
        tail = _enc_str(self.client_id, "client id")
        if self.will_topic is not None:
            if not valid_topic_name(self.will_topic):
                _fail("bad will topic %r" % (self.will_topic,))
            flags |= 0x04 | (_check_qos(self.will_qos) << 3) | (0x20 if self.will_retain else 0)
            tail += _enc_str(self.will_topic, "will topic")
            tail += _enc_bin(_as_bytes(self.will_message, "will message"), "will message")
        elif self.will_qos or self.will_retain or self.will_message:
            _fail("will QoS, retain or message without a will topic")
        if self.username is not None:
            flags |= 0x80
            tail += _enc_str(self.username, "username")
        if self.password is not None:
            if self.username is None:
                _fail("password without username")
            flags |= 0x40
            tail += _enc_bin(_as_bytes(self.password, "password"), "password")
        head = _enc_str(PROTOCOL_NAME, "protocol name") + bytes((PROTOCOL_LEVEL, flags))
        head += struct.pack("!H", self.keepalive)
        return _frame(CONNECT << 4, head + tail)


class Connack(Packet):
    TYPE = CONNACK
    FIELDS = ("session_present", "return_code")

    def __init__(self, session_present: bool = False, return_code: int = ACCEPTED) -> None:
        self.session_present = bool(session_present)
        self.return_code = return_code

    @property
    def message(self) -> str:
        return CONNACK_MESSAGES[self.return_code]

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        ack = r.u8()
        code = r.u8()
        r.end()
        if ack & 0xFE:
            _fail("reserved CONNACK flags set")
        if code > 5:
            _fail("CONNACK return code %d" % code)
        if ack and code:
            _fail("session present on a refused CONNACK")
        return cls(bool(ack), code)


class Publish(Packet):
    TYPE = PUBLISH
    FIELDS = ("topic", "payload", "qos", "retain", "dup", "packet_id")

    def __init__(
        self,
        topic: str,
        payload: bytes = b"",
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        packet_id: "int | None" = None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = bool(retain)
        self.dup = bool(dup)
        self.packet_id = packet_id

    def encode(self) -> bytes:
        if not valid_topic_name(self.topic):
            _fail("bad PUBLISH topic %r" % (self.topic,))
        qos = _check_qos(self.qos)
        first = (PUBLISH << 4) | (qos << 1) | (1 if self.retain else 0)
        body = _enc_str(self.topic, "topic")
        if qos:
            body += struct.pack("!H", _check_pid(self.packet_id))
            if self.dup:
                first |= 0x08
        elif self.dup or self.packet_id is not None:
            _fail("DUP or packet id on a QoS 0 PUBLISH")
        return _frame(first, body + _as_bytes(self.payload, "payload"))

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        qos = (flags >> 1) & 3
        dup = bool(flags & 0x08)
        if qos == 3:
            _fail("PUBLISH QoS 3")
        if dup and not qos:
            _fail("DUP on a QoS 0 PUBLISH")
        topic = r.string("topic")
        if not valid_topic_name(topic):
            _fail("bad PUBLISH topic")
        pid = r.pid() if qos else None
        return cls(topic, r.rest(), qos, bool(flags & 0x01), dup, pid)


class _IdOnly(Packet):
    FIELDS = ("packet_id",)
    FLAGS = 0

    def __init__(self, packet_id: int) -> None:
        self.packet_id = packet_id

    def encode(self) -> bytes:
        return _frame((self.TYPE << 4) | self.FLAGS, struct.pack("!H", _check_pid(self.packet_id)))

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        pid = r.pid()
        r.end()
        return cls(pid)


class Puback(_IdOnly):
    TYPE = PUBACK


class Unsuback(_IdOnly):
    TYPE = UNSUBACK


class Subscribe(Packet):
    TYPE = SUBSCRIBE
    FIELDS = ("packet_id", "topics")

    def __init__(self, packet_id: int, topics: "list[tuple[str, int]]") -> None:
        """``topics`` is a list of ``(filter, max_qos)``."""
        self.packet_id = packet_id
        self.topics = [(f, q) for f, q in topics]

    def encode(self) -> bytes:
        if not self.topics:
            _fail("SUBSCRIBE without topics")
        body = struct.pack("!H", _check_pid(self.packet_id))
        for flt, qos in self.topics:
            if not valid_topic_filter(flt):
                _fail("bad topic filter %r" % (flt,))
            body += _enc_str(flt, "topic filter") + bytes((_check_qos(qos),))
        return _frame((SUBSCRIBE << 4) | 0x02, body)


def _check_suback_codes(codes: "list[int]") -> None:
    if not codes:
        _fail("SUBACK without return codes")
    for c in codes:
        if c not in (0, 1, 2, SUBACK_FAILURE):
            _fail("bad SUBACK return code %r" % (c,))


class Suback(Packet):
    TYPE = SUBACK
    FIELDS = ("packet_id", "return_codes")

    def __init__(self, packet_id: int, return_codes: "list[int]") -> None:
        """``return_codes``: granted QoS 0..2 or ``SUBACK_FAILURE`` (0x80), one per filter."""
        self.packet_id = packet_id
        self.return_codes = list(return_codes)

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        pid = r.pid()
        codes = list(r.rest())
        _check_suback_codes(codes)
        return cls(pid, codes)


class Unsubscribe(Packet):
    TYPE = UNSUBSCRIBE
    FIELDS = ("packet_id", "topics")

    def __init__(self, packet_id: int, topics: "list[str]") -> None:
        self.packet_id = packet_id
        self.topics = list(topics)

    def encode(self) -> bytes:
        if not self.topics:
            _fail("UNSUBSCRIBE without topics")
        body = struct.pack("!H", _check_pid(self.packet_id))
        for flt in self.topics:
            if not valid_topic_filter(flt):
                _fail("bad topic filter %r" % (flt,))
            body += _enc_str(flt, "topic filter")
        return _frame((UNSUBSCRIBE << 4) | 0x02, body)


class _Empty(Packet):
    def encode(self) -> bytes:
        return bytes((self.TYPE << 4, 0))

    @classmethod
    def _decode(cls, r: _Reader, flags: int) -> "Packet":
        r.end()
        return cls()


class Pingreq(_Empty):
    TYPE = PINGREQ


class Pingresp(_Empty):
    TYPE = PINGRESP


class Disconnect(_Empty):
    TYPE = DISCONNECT


# ---------------------------------------------------------------- decoding

# type -> (class, required low-nibble flags, or None for PUBLISH): what a broker sends a
# client.  firmware.mqtt.codec adds the rest when it is imported (the same dict).
_TABLE: "dict[int, tuple[type[Packet], int | None]]" = {
    CONNACK: (Connack, 0),
    PUBLISH: (Publish, None),
    PUBACK: (Puback, 0),
    SUBACK: (Suback, 0),
    UNSUBACK: (Unsuback, 0),
    PINGRESP: (Pingresp, 0),
}


def _check_first(first: int) -> "type[Packet]":
    entry = _TABLE.get(first >> 4)
    if entry is None:
        kind = first >> 4
        _fail(
            ("reserved packet type %d" if kind in (0, 15) else "packet type %d is not one a broker sends")
            % kind
        )
    if entry[1] is not None and first & 0x0F != entry[1]:
        _fail("bad fixed header flags 0x%02x" % first)
    return entry[0]


def decode(first: int, body: bytes) -> Packet:
    """Decode one packet from its fixed-header byte and its body (after the length)."""
    cls = _check_first(first)
    r = _Reader(body)
    return cls._decode(r, first & 0x0F)


class Parser:
    """Incremental decoder: ``feed(bytes)`` returns the list of packets completed by it."""

    def __init__(self, max_packet: int = MAX_REMAINING + 5) -> None:
        self.max_packet = max_packet
        self._buf = b""
        self._error: MQTTProtocolError | None = None

    def pending(self) -> int:
        """Number of buffered bytes that do not yet form a whole packet."""
        return len(self._buf)

    def feed(self, data: bytes) -> "list[Packet]":
        if self._error is not None:
            raise self._error
        if data:
            self._buf += bytes(data)
        out: list[Packet] = []
        try:
            while True:
                pkt = self._next()
                if pkt is None:
                    return out
                out.append(pkt)
        except MQTTProtocolError as e:
            self._error = e
            self._buf = b""
            raise

    def _next(self) -> "Packet | None":
        buf = self._buf
        if not buf:
            return None
        _check_first(buf[0])
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
        if total > self.max_packet:
            _fail("packet of %d bytes exceeds the limit of %d" % (total, self.max_packet))
        if len(buf) < total:
            return None
        pkt = decode(buf[0], buf[i:total])
        self._buf = buf[total:]
        return pkt
