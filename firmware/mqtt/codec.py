"""MQTT 3.1.1 packet codec, both directions, sans-I/O (bytes <-> packet objects, no sockets).

For test brokers, benches and the byte-exact tests against paho, never for
the keypad: the keypad's own side, as functions and tuples, is in
:mod:`firmware.mqtt.client` (and :mod:`firmware.mqtt.connect` while it
connects).  Here every packet is an object with equality and a repr, and
every packet type decodes, so one set of classes speaks both sides.  What
the keypad sends (CONNECT, PUBLISH, SUBSCRIBE, PINGREQ, DISCONNECT) is
encoded, and what it receives (CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP)
decoded, by the keypad's own functions (PUBLISH and
:func:`~firmware.mqtt.client.parse` in the client, CONNECT and SUBSCRIBE in
:mod:`firmware.mqtt.connect`), so the keypad's bytes are the bytes tested
here; its PUBACK, built inline by the client, has the layout of
:class:`Puback` (tests check the bytes).  The rest (the broker's side,
QoS 2's PUBREC, PUBREL and PUBCOMP, UNSUBSCRIBE and UNSUBACK) is here.

Runs on MicroPython and CPython: no dataclasses, no typing at run time.

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

from . import client as _c
from . import connect as _k
from .client import PINGREQ_PACKET, MQTTError, MQTTProtocolError
from .client import frame as _frame
from .connect import CONNACK_MESSAGES, DISCONNECT_PACKET, valid_topic_filter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = [
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
    "Pubcomp",
    "Publish",
    "Pubrec",
    "Pubrel",
    "Suback",
    "Subscribe",
    "Unsuback",
    "Unsubscribe",
    "decode",
    "valid_topic_filter",
    "valid_topic_name",
]

MAX_REMAINING = 268435455

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

PROTOCOL_NAME = "MQTT"
PROTOCOL_LEVEL = 4
SUBACK_FAILURE = 0x80


def _fail(msg: str) -> "NoReturn":
    raise MQTTProtocolError(msg)


def valid_topic_name(topic: object) -> bool:
    """True for a topic one may PUBLISH to: non-empty, no ``+`` or ``#``."""
    return isinstance(topic, str) and len(topic) > 0 and "+" not in topic and "#" not in topic


def _pid(pid: object) -> bytes:
    if not isinstance(pid, int) or isinstance(pid, bool) or not 1 <= pid <= 0xFFFF:
        _fail("packet id must be 1..65535: %r" % (pid,))
    return bytes((pid >> 8, pid & 0xFF))


def _text(raw: bytes, what: str) -> str:
    """UTF-8 without U+0000, as every MQTT string must be."""
    try:
        text = bytes(raw).decode("utf-8")
    except (UnicodeError, ValueError):
        _fail("%s is not UTF-8" % what)
    if "\x00" in text:
        _fail("%s contains U+0000" % what)
    return text


def _keypads(first: int, body: bytes) -> "tuple[Any, ...]":
    """A packet the keypad receives, decoded by the keypad's own :func:`firmware.mqtt.client.parse`."""
    pkt, _ = _c.parse(_frame(first, body))
    assert pkt is not None
    return pkt


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
        return _text(self.binary(), what)

    def end(self) -> None:
        if self.left():
            _fail("%d trailing bytes" % self.left())


# ---------------------------------------------------------------- packets


class Packet:
    """Base of all packets: equality and repr over ``FIELDS``.

    ``_decode(first, body)`` builds a packet from its fixed-header byte and
    body; the packets the keypad receives are decoded by
    :func:`firmware.mqtt.client.parse` and built from its tuple.
    """

    TYPE = 0
    FIELDS: "tuple[str, ...]" = ()
    FLAGS = 0  # the fixed header's low nibble (PUBLISH: its own)

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
    def _decode(cls, first: int, body: bytes) -> "Packet":
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
        will = None
        if self.will_topic is not None:
            will = (self.will_topic, self.will_message, self.will_qos, self.will_retain)
        elif self.will_qos or self.will_retain or self.will_message:
            _fail("will QoS, retain or message without a will topic")
        return _k.connect(
            self.client_id, self.clean_session, self.keepalive, will, self.username, self.password
        )

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        r = _Reader(body)
        if r.string("protocol name") != PROTOCOL_NAME:
            _fail("protocol name is not MQTT")
        level = r.u8()
        if level != PROTOCOL_LEVEL:
            _fail("protocol level %d is not 4 (MQTT 3.1.1)" % level)
        flags = r.u8()
        if flags & 0x01:
            _fail("reserved CONNECT flag set")
        will = flags & 0x04
        will_qos = (flags >> 3) & 3
        will_retain = bool(flags & 0x20)
        if will_qos == 3:
            _fail("will QoS 3")
        if not will and (will_qos or will_retain):
            _fail("will QoS/retain without will flag")
        if flags & 0x40 and not flags & 0x80:
            _fail("password flag without username flag")
        keepalive = r.u16()
        client_id = r.string("client id")
        will_topic = None
        will_message = b""
        if will:
            will_topic = r.string("will topic")
            if not valid_topic_name(will_topic):
                _fail("bad will topic")
            will_message = r.binary()
        username = r.string("username") if flags & 0x80 else None
        password = r.binary() if flags & 0x40 else None
        r.end()
        return cls(
            client_id,
            bool(flags & 0x02),
            keepalive,
            will_topic,
            will_message,
            will_qos,
            will_retain,
            username,
            password,
        )


class Connack(Packet):
    TYPE = CONNACK
    FIELDS = ("session_present", "return_code")

    def __init__(self, session_present: bool = False, return_code: int = ACCEPTED) -> None:
        self.session_present = bool(session_present)
        self.return_code = return_code

    @property
    def message(self) -> str:
        return CONNACK_MESSAGES[self.return_code]

    def encode(self) -> bytes:
        if not isinstance(self.return_code, int) or not 0 <= self.return_code <= 5:
            _fail("CONNACK return code must be 0..5: %r" % (self.return_code,))
        if self.session_present and self.return_code:
            _fail("session present on a refused CONNACK")
        return _frame(CONNACK << 4, bytes((1 if self.session_present else 0, self.return_code)))

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        _, session_present, code = _keypads(first, body)
        return cls(session_present, code)


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
        return _c.publish(self.topic, self.payload, self.qos, self.retain, self.dup, self.packet_id)

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        return cls(*_keypads(first, body)[1:])


class _IdOnly(Packet):
    FIELDS = ("packet_id",)

    def __init__(self, packet_id: int) -> None:
        self.packet_id = packet_id

    def encode(self) -> bytes:
        return _frame((self.TYPE << 4) | self.FLAGS, _pid(self.packet_id))

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        r = _Reader(body)
        pid = r.pid()
        r.end()
        return cls(pid)


class Puback(_IdOnly):
    TYPE = PUBACK

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        return cls(_keypads(first, body)[1])


class Pubrec(_IdOnly):
    TYPE = PUBREC


class Pubrel(_IdOnly):
    TYPE = PUBREL
    FLAGS = 0x02


class Pubcomp(_IdOnly):
    TYPE = PUBCOMP


class Unsuback(_IdOnly):
    TYPE = UNSUBACK


def _filters(r: _Reader, with_qos: bool) -> "list[Any]":
    """The topic filters of a SUBSCRIBE (with their QoS bytes) or an UNSUBSCRIBE, at least one."""
    out: list[Any] = []
    while r.left():
        flt = r.string("topic filter")
        if not valid_topic_filter(flt):
            _fail("bad topic filter")
        if with_qos:
            qos = r.u8()
            if qos > 2:
                _fail("bad requested QoS byte %d" % qos)
            out.append((flt, qos))
        else:
            out.append(flt)
    if not out:
        _fail("%s without topics" % ("SUBSCRIBE" if with_qos else "UNSUBSCRIBE"))
    return out


class Subscribe(Packet):
    TYPE = SUBSCRIBE
    FIELDS = ("packet_id", "topics")
    FLAGS = 0x02

    def __init__(self, packet_id: int, topics: "list[tuple[str, int]]") -> None:
        """``topics`` is a list of ``(filter, max_qos)``."""
        self.packet_id = packet_id
        self.topics = [(f, q) for f, q in topics]

    def encode(self) -> bytes:
        return _k.subscribe(self.packet_id, self.topics)

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        r = _Reader(body)
        pid = r.pid()
        return cls(pid, _filters(r, True))


class Suback(Packet):
    TYPE = SUBACK
    FIELDS = ("packet_id", "return_codes")

    def __init__(self, packet_id: int, return_codes: "list[int]") -> None:
        """``return_codes``: granted QoS 0..2 or ``SUBACK_FAILURE`` (0x80), one per filter."""
        self.packet_id = packet_id
        self.return_codes = list(return_codes)

    def encode(self) -> bytes:
        codes = self.return_codes
        if not codes:
            _fail("SUBACK without return codes")
        for code in codes:
            if code not in (0, 1, 2, SUBACK_FAILURE):
                _fail("bad SUBACK return code %r" % (code,))
        return _frame(SUBACK << 4, _pid(self.packet_id) + bytes(codes))

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        _, pid, codes = _keypads(first, body)
        return cls(pid, list(codes))


class Unsubscribe(Packet):
    TYPE = UNSUBSCRIBE
    FIELDS = ("packet_id", "topics")
    FLAGS = 0x02

    def __init__(self, packet_id: int, topics: "list[str]") -> None:
        self.packet_id = packet_id
        self.topics = list(topics)

    def encode(self) -> bytes:
        if not self.topics:
            _fail("UNSUBSCRIBE without topics")
        body = _pid(self.packet_id)
        for flt in self.topics:
            if not valid_topic_filter(flt):
                _fail("bad topic filter %r" % (flt,))
            body += _k._str(flt, "topic filter")
        return _frame((UNSUBSCRIBE << 4) | self.FLAGS, body)

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        r = _Reader(body)
        pid = r.pid()
        return cls(pid, _filters(r, False))


class _Empty(Packet):
    def encode(self) -> bytes:
        return bytes((self.TYPE << 4, 0))

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        _Reader(body).end()
        return cls()


class Pingreq(_Empty):
    TYPE = PINGREQ

    def encode(self) -> bytes:
        return PINGREQ_PACKET


class Pingresp(_Empty):
    TYPE = PINGRESP

    @classmethod
    def _decode(cls, first: int, body: bytes) -> "Packet":
        _keypads(first, body)
        return cls()


class Disconnect(_Empty):
    TYPE = DISCONNECT

    def encode(self) -> bytes:
        return DISCONNECT_PACKET


# ---------------------------------------------------------------- decoding

# packet type -> its class; PUBLISH's low nibble is its own, every other type's is the class's FLAGS
_CLASSES: "dict[int, type[Packet]]" = {
    cls.TYPE: cls
    for cls in (
        Connect,
        Connack,
        Publish,
        Puback,
        Pubrec,
        Pubrel,
        Pubcomp,
        Subscribe,
        Suback,
        Unsubscribe,
        Unsuback,
        Pingreq,
        Pingresp,
        Disconnect,
    )
}


def _check_first(first: int) -> "type[Packet]":
    cls = _CLASSES.get(first >> 4)
    if cls is None:
        _fail("reserved packet type %d" % (first >> 4))
    if cls is not Publish and first & 0x0F != cls.FLAGS:
        _fail("bad fixed header flags 0x%02x" % first)
    return cls


def decode(first: int, body: bytes) -> Packet:
    """Decode one packet from its fixed-header byte and its body (after the length)."""
    return _check_first(first)._decode(first, body)


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
            while self._buf:
                buf = self._buf
                _check_first(buf[0])
                at = _extent(buf, self.max_packet)
                if at is None:
                    break
                out.append(decode(buf[0], buf[at[0] : at[1]]))
                self._buf = buf[at[1] :]
        except MQTTProtocolError as e:
            self._error = e
            self._buf = b""
            raise
        return out
