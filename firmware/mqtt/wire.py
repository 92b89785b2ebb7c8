"""MQTT 3.1.1 wire helpers shared by the packet classes: errors, varints, strings, a bounded reader.

Sans-I/O and MicroPython-compatible, like :mod:`firmware.mqtt.codec`.
"""

import struct

# Type checkers treat any name TYPE_CHECKING as true; at run time nothing is imported.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

MAX_REMAINING = 268435455


class MQTTError(Exception):
    """Base of the client's MQTT errors."""


class MQTTProtocolError(MQTTError):
    """Bytes that are not a well-formed MQTT 3.1.1 packet, or values that cannot be encoded."""


# ---------------------------------------------------------------- helpers


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
