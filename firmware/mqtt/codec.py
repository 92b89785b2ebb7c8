"""MQTT 3.1.1 packet codec, both directions, sans-I/O (bytes <-> packet objects, no sockets).

Runs on MicroPython and CPython: no dataclasses, no typing at run time,
``struct`` only.

The client's side is :mod:`firmware.mqtt.packets` (what the keypad loads);
importing this module completes the same classes with the other direction
(decoding CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT; encoding
CONNACK and SUBACK) and adds QoS 2's PUBREC, PUBREL and PUBCOMP, so a test
broker, the fleet bench and the byte-exact tests against paho speak both
sides with one set of classes.  From then on :class:`Parser` and
:func:`decode` accept every packet type.

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

from .packets import (
    _TABLE,
    ACCEPTED,
    CONNACK,
    CONNACK_MESSAGES,
    CONNECT,
    DISCONNECT,
    MAX_REMAINING,
    PINGREQ,
    PINGRESP,
    PROTOCOL_LEVEL,
    PROTOCOL_NAME,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    REFUSED_BAD_CREDENTIALS,
    REFUSED_IDENTIFIER,
    REFUSED_NOT_AUTHORIZED,
    REFUSED_PROTOCOL_VERSION,
    REFUSED_SERVER_UNAVAILABLE,
    SUBACK,
    SUBACK_FAILURE,
    SUBSCRIBE,
    UNSUBACK,
    UNSUBSCRIBE,
    Connack,
    Connect,
    Disconnect,
    MQTTError,
    MQTTProtocolError,
    Packet,
    Parser,
    Pingreq,
    Pingresp,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    _check_pid,
    _check_suback_codes,
    _fail,
    _frame,
    _IdOnly,
    _Reader,
    decode,
    valid_topic_filter,
    valid_topic_name,
)

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


class Pubrec(_IdOnly):
    TYPE = PUBREC


class Pubrel(_IdOnly):
    TYPE = PUBREL
    FLAGS = 0x02


class Pubcomp(_IdOnly):
    TYPE = PUBCOMP


# ---------------------------------------------------------------- the broker's direction


def _decode_connect(cls: "type[Connect]", r: _Reader, flags: int) -> "Packet":
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


def _encode_connack(self: Connack) -> bytes:
    if not isinstance(self.return_code, int) or not 0 <= self.return_code <= 5:
        _fail("CONNACK return code must be 0..5: %r" % (self.return_code,))
    if self.session_present and self.return_code:
        _fail("session present on a refused CONNACK")
    return _frame(CONNACK << 4, bytes((1 if self.session_present else 0, self.return_code)))


def _decode_subscribe(cls: "type[Subscribe]", r: _Reader, flags: int) -> "Packet":
    pid = r.pid()
    topics = []
    while r.left():
        flt = r.string("topic filter")
        if not valid_topic_filter(flt):
            _fail("bad topic filter")
        qos = r.u8()
        if qos > 2:
            _fail("bad requested QoS byte %d" % qos)
        topics.append((flt, qos))
    if not topics:
        _fail("SUBSCRIBE without topics")
    return cls(pid, topics)


def _encode_suback(self: Suback) -> bytes:
    _check_suback_codes(self.return_codes)
    body = struct.pack("!H", _check_pid(self.packet_id)) + bytes(self.return_codes)
    return _frame(SUBACK << 4, body)


def _decode_unsubscribe(cls: "type[Unsubscribe]", r: _Reader, flags: int) -> "Packet":
    pid = r.pid()
    topics = []
    while r.left():
        flt = r.string("topic filter")
        if not valid_topic_filter(flt):
            _fail("bad topic filter")
        topics.append(flt)
    if not topics:
        _fail("UNSUBSCRIBE without topics")
    return cls(pid, topics)


Connect._decode = classmethod(_decode_connect)  # type: ignore[method-assign,assignment]
Connack.encode = _encode_connack  # type: ignore[method-assign,assignment]
Subscribe._decode = classmethod(_decode_subscribe)  # type: ignore[method-assign,assignment]
Suback.encode = _encode_suback  # type: ignore[method-assign,assignment]
Unsubscribe._decode = classmethod(_decode_unsubscribe)  # type: ignore[method-assign,assignment]
_TABLE.update(
    {
        CONNECT: (Connect, 0),
        PUBREC: (Pubrec, 0),
        PUBREL: (Pubrel, 2),
        PUBCOMP: (Pubcomp, 0),
        SUBSCRIBE: (Subscribe, 2),
        UNSUBSCRIBE: (Unsubscribe, 2),
        PINGREQ: (Pingreq, 0),
        DISCONNECT: (Disconnect, 0),
    }
)
