"""The keypad's side of MQTT: functions to bytes, bytes to tuples.

What the client sends online (PUBLISH, PUBACK, PINGREQ, DISCONNECT) and
:func:`parse` are in firmware/mqtt/client.py; CONNECT and SUBSCRIBE in the
connect path, firmware/mqtt/connect.py.  Byte-exact vectors hand-assembled
from the MQTT 3.1.1 field layouts; the decoded tuples checked against the
full codec (firmware/mqtt/codec.py, whose broker-side encoders are its own)
by property tests, framing and refusals included; and the keypad's modules
alone on the real MicroPython interpreter from mpy-cross output, where the
client loads them and never the codec.
"""

from __future__ import annotations

import asyncio

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.mqtt import client as mc
from firmware.mqtt import codec as c
from firmware.mqtt import connect as k
from firmware.mqtt import host

from .test_codec import packets as any_packet
from .test_codec import pid, publishes

pytestmark = pytest.mark.micropython

DEVICE_KINDS = (c.CONNACK, c.PUBLISH, c.PUBACK, c.SUBACK, c.PINGRESP)


def as_tuple(pkt: c.Packet) -> tuple[object, ...]:
    """What the client's parse makes of a packet the keypad receives."""
    if isinstance(pkt, c.Connack):
        return (c.CONNACK, pkt.session_present, pkt.return_code)
    if isinstance(pkt, c.Publish):
        return (c.PUBLISH, pkt.topic, pkt.payload, pkt.qos, pkt.retain, pkt.dup, pkt.packet_id)
    if isinstance(pkt, c.Puback):
        return (c.PUBACK, pkt.packet_id)
    if isinstance(pkt, c.Suback):
        return (c.SUBACK, pkt.packet_id, bytes(pkt.return_codes))
    assert isinstance(pkt, c.Pingresp)
    return (c.PINGRESP,)


def acked(packet_id: int) -> bytes:
    """The PUBACK the client sends for an inbound QoS 1 PUBLISH (built inline, in ``_handle``)."""
    sent: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            sent.append(bytes(data))

        async def drain(self) -> None:
            pass

    client = mc.MQTTClient("kp-1", "127.0.0.1", 1)
    client._writer = Writer()
    asyncio.run(client._handle((c.PUBLISH, "a/b", b"", 1, False, False, packet_id)))
    return b"".join(sent)


def parse_all(stream: bytes, max_packet: int = c.MAX_REMAINING + 5) -> tuple[list[tuple[object, ...]], bytes]:
    """What the client's reader does with its buffer: whole packets off the front, the rest kept."""
    out = []
    while stream:
        pkt, used = mc.parse(stream, max_packet)
        if pkt is None:
            break
        out.append(pkt)
        stream = stream[used:]
    return out, stream


def test_numbers_agree_with_the_codec() -> None:
    # the const() names (module globals on CPython only) of the client
    assert (mc._CONNACK, mc._PUBLISH, mc._PUBACK, mc._SUBACK, mc._PINGRESP) == DEVICE_KINDS
    assert host._SUBACK == c.SUBACK
    assert mc._MAX_REMAINING == c.MAX_REMAINING and mc._DUP == 0x08
    assert mc._SUBACK_FAILURE == c.SUBACK_FAILURE and k.CONNACK_MESSAGES is c.CONNACK_MESSAGES
    assert mc.MQTTProtocolError is c.MQTTProtocolError and mc.MQTTError is c.MQTTError
    assert issubclass(mc.MQTTConnectError, c.MQTTError)
    assert bytes.fromhex("c000") == mc.PINGREQ_PACKET == c.Pingreq().encode()
    assert bytes.fromhex("e000") == k.DISCONNECT_PACKET == c.Disconnect().encode()


# --------------------------------------------------------------- vectors

SENDS = [
    (k.connect("kp", True, 60), "100e" + "00044d515454" + "04" + "02" + "003c" + "00026b70"),
    (
        k.connect("kp", False, 10, ("w", b"\x00", 1, True), "u", "p"),
        "101a" + "00044d515454" + "04" + "ec" + "000a" + "00026b70" + "000177" + "000100" + "000175" + "000170",
    ),
    (mc.publish("a/b", b"hi"), "3007" + "0003612f62" + "6869"),
    (mc.publish("a/b", b"hi", 1, True, False, 10), "3309" + "0003612f62" + "000a" + "6869"),
    (mc.publish("a/b", b"", 1, False, True, 10), "3a07" + "0003612f62" + "000a"),
    (acked(0x1234), "40021234"),
    (acked(0xFFFF), "4002ffff"),
    (k.subscribe(1, [("a/+", 1)]), "8208" + "0001" + "0003612f2b" + "01"),
    (mc.PINGREQ_PACKET, "c000"),
    (k.DISCONNECT_PACKET, "e000"),
]


@pytest.mark.parametrize(("data", "hexbytes"), SENDS)
def test_what_the_keypad_sends_byte_for_byte(data: bytes, hexbytes: str) -> None:
    assert data == bytes.fromhex(hexbytes)


RECEIVES = [
    ("20020000", (2, False, 0)),
    ("20020100", (2, True, 0)),
    ("20020005", (2, False, 5)),
    ("3007" + "0003612f62" + "6869", (3, "a/b", b"hi", 0, False, False, None)),
    ("3b09" + "0003612f62" + "000a" + "6869", (3, "a/b", b"hi", 1, True, True, 10)),
    ("40021234", (4, 0x1234)),
    ("9004" + "0001" + "0180", (9, 1, b"\x01\x80")),
    ("d000", (13,)),
]


@pytest.mark.parametrize(("hexbytes", "decoded"), RECEIVES)
def test_what_the_keypad_receives_as_tuples(hexbytes: str, decoded: tuple[object, ...]) -> None:
    data = bytes.fromhex(hexbytes)
    assert mc.parse(data) == (decoded, len(data))
    assert mc.parse(data + b"\xd0") == (decoded, len(data))  # the next packet's first byte stays
    assert c._keypads(data[0], data[2:]) == decoded  # from the header byte and body, as the codec decodes


def test_a_partial_packet_waits_but_its_first_byte_is_checked_at_once() -> None:
    assert mc.parse(b"") == (None, 0)
    assert mc.parse(bytes.fromhex("3009")) == (None, 0)
    assert mc.parse(bytes.fromhex("30ffffff7f")) == (None, 0)  # the largest length is pending
    with pytest.raises(mc.MQTTProtocolError, match="258 > limit 100"):
        mc.parse(bytes.fromhex("30ff01"), 100)
    with pytest.raises(mc.MQTTProtocolError, match="reserved 15"):
        mc.parse(b"\xf0")


# Only a broker receives these, and the keypad never asks for the rest (UNSUBSCRIBE, QoS 2).
NOT_RECEIVED = [c.Connect("kp-1"), c.Subscribe(3, [("a/+", 1)]), c.Unsubscribe(4, ["a"]), c.Pingreq(),
                c.Disconnect(), c.Pubrec(5), c.Pubrel(5), c.Pubcomp(5), c.Unsuback(4)]  # fmt: skip


@pytest.mark.parametrize("pkt", NOT_RECEIVED, ids=lambda x: type(x).__name__)
def test_packets_the_keypad_does_not_receive_are_refused(pkt: c.Packet) -> None:
    data = pkt.encode()
    with pytest.raises(mc.MQTTProtocolError, match="unwanted %d$" % pkt.TYPE):
        mc.parse(data)
    assert c.Parser().feed(data) == [pkt]  # while the full codec takes it


@pytest.mark.parametrize(
    "call",
    [
        lambda: mc.publish("a/+", b""),
        lambda: mc.publish("", b""),
        lambda: mc.publish("a", "text"),  # type: ignore[arg-type]
        lambda: mc.publish("a", b"", 3, False, False, 1),
        lambda: mc.publish("a", b"", 1),
        lambda: mc.publish("a", b"", 0, False, True),
        lambda: mc.publish("a", b"", 1, False, False, 0),
        lambda: mc.publish("a", b"", 1, False, False, True),  # type: ignore[arg-type]
        # the client acks the packet id of a PUBLISH it parsed: never 0
        lambda: mc.parse(bytes.fromhex("3205" + "000161" + "0000")),
        lambda: k.subscribe(1, []),
        lambda: k.subscribe(0, [("a", 1)]),
        lambda: k.subscribe(1, [("a/#/b", 1)]),
        lambda: k.connect("kp", True, 60, None, None, b"pw"),
        lambda: k.connect("kp", True, 60, ("w/+", b"", 0, False)),
        lambda: k.connect("kp", True, -1),
        lambda: k.connect("kp\x00"),
    ],
)
def test_bad_values_refuse_to_encode(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(mc.MQTTProtocolError):
        call()


# --------------------------------------------------------------- against the full codec

received = st.one_of(
    publishes(),
    st.builds(lambda rc, sp: c.Connack(sp and rc == 0, rc), st.integers(0, 5), st.booleans()),
    st.builds(c.Puback, pid),
    st.builds(c.Suback, pid, st.lists(st.sampled_from([0, 1, 2, 0x80]), min_size=1, max_size=5)),
    st.just(c.Pingresp()),
)


@settings(max_examples=300)
@given(st.lists(received, min_size=1, max_size=6), st.data())
def test_a_stream_from_the_broker_split_anywhere_decodes_as_the_codec_does(
    pkts: list[c.Packet], data: st.DataObject
) -> None:
    stream = b"".join(x.encode() for x in pkts)
    want = [as_tuple(x) for x in pkts]
    assert parse_all(stream) == (want, b"")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    got: list[tuple[object, ...]] = []
    buf = b""
    prev = 0
    for cut in [*cuts, len(stream)]:
        buf += stream[prev:cut]
        prev = cut
        more, buf = parse_all(buf)
        got += more
    assert got == want and buf == b""


@settings(max_examples=1000)
@given(st.one_of(st.binary(max_size=60), any_packet.map(lambda x: x.encode())), st.integers(0, 300))
def test_any_bytes_decode_as_the_codec_decodes_or_are_refused(blob: bytes, limit: int) -> None:
    """Only MQTTProtocolError is ever raised, and whatever decodes is what the codec decodes."""
    mine: list[tuple[object, ...]] = []
    pos = 0
    mine_error = None
    try:
        while pos < len(blob):
            pkt, used = mc.parse(blob[pos:], limit)
            if pkt is None:
                break
            mine.append(pkt)
            pos += used
    except mc.MQTTProtocolError as e:
        mine_error = e
    try:
        theirs = c.Parser(limit).feed(blob)
    except c.MQTTProtocolError:
        assert mine_error is not None
        return
    assert mine == [as_tuple(x) for x in theirs[: len(mine)]]
    if mine_error is None:
        assert len(mine) == len(theirs)
    else:  # only where a packet the keypad does not receive starts
        assert str(mine_error).startswith("unwanted ")
        assert blob[pos] >> 4 not in DEVICE_KINDS


@settings(max_examples=300)
@given(any_packet)
def test_the_codec_sends_what_the_keypad_sends(pkt: c.Packet) -> None:
    """The keypad's encoders and the codec's objects make the same bytes (the codec uses them);
    what the codec decodes back is the packet it encoded."""
    data = pkt.encode()
    if isinstance(pkt, c.Publish):
        assert mc.publish(pkt.topic, pkt.payload, pkt.qos, pkt.retain, pkt.dup, pkt.packet_id) == data
    elif isinstance(pkt, c.Subscribe):
        assert k.subscribe(pkt.packet_id, pkt.topics) == data
    elif isinstance(pkt, c.Puback):
        assert acked(pkt.packet_id) == data
    elif isinstance(pkt, c.Connect):
        will = None if pkt.will_topic is None else (pkt.will_topic, pkt.will_message, pkt.will_qos, pkt.will_retain)
        assert k.connect(pkt.client_id, pkt.clean_session, pkt.keepalive, will, pkt.username, pkt.password) == data
    assert c.Parser().feed(data) == [pkt]


# --------------------------------------------------------------- on MicroPython

SCRIPT = r"""
import asyncio, sys, hvhost
from firmware.mqtt import client as mc
from firmware.mqtt import connect as k

inp = hvhost.load_input()


def plain(t):
    return [x.hex() if isinstance(x, bytes) else x for x in t]


class Writer:  # what the client writes when it acks an inbound QoS 1 PUBLISH
    sent = b""

    def write(self, data):
        self.sent += data

    async def drain(self):
        pass


client = mc.MQTTClient("kp-1", "10.0.0.1", 1)
client._writer = Writer()
await asyncio.create_task(client._handle((3, "a/b", b"", 1, False, False, 7)))
out = {
    "sends": [
        k.connect("kp-1", True, 30, ("w/p", b"\x00", 1, True), "kp-1", "pw").hex(),
        mc.publish("a/b", b"hi", 1, False, True, 7).hex(),
        client._writer.sent.hex(),
        k.subscribe(3, [("a/+", 1), ("x/#", 0)]).hex(),
        mc.PINGREQ_PACKET.hex(),
        k.DISCONNECT_PACKET.hex(),
    ],
    "receives": [],
    "refused": [],
}
stream = bytes.fromhex(inp["stream"])
buf = b""
for i in range(len(stream)):  # a byte at a time, as the client's reader keeps its buffer
    buf += stream[i:i + 1]
    while buf:
        pkt, used = mc.parse(buf, 16384)
        if pkt is None:
            break
        out["receives"].append(plain(pkt))
        buf = buf[used:]
for h in inp["not_received"] + inp["malformed"]:
    try:
        mc.parse(bytes.fromhex(h))
        out["refused"].append("accepted")
    except mc.MQTTProtocolError as e:
        out["refused"].append(str(e))
    except Exception as e:
        out["refused"].append("wrong error: %r" % e)
out["loaded"] = sorted(k for k in sys.modules if k.startswith("firmware.mqtt"))
out["file"] = mc.__file__
hvhost.result(out)
"""

BROKER_SENDS = [
    c.Connack(False, 0),
    c.Connack(False, 5),
    c.Publish("h/dev/kp-1/down", b"\x02\x10", qos=1, retain=True, packet_id=9),
    c.Publish("h/hall/sitting", b"", qos=0),
    c.Puback(7),
    c.Suback(3, [1, 0x80]),
    c.Pingresp(),
]
MALFORMED = {  # hex -> what the error says
    "0000": "reserved 0",
    "d100": "flags 0xd1",
    "200100": "truncated",
    "20020006": "CONNACK 6",
    "3603000174": "QoS 3",
    "300400012b78": "bad topic",
    "30050003c3287a": "not UTF-8",
    "3004000100" + "78": "U+0000",
    "40020000": "packet id 0",
    "4003000100": "trailing 1",
    "90020001": "SUBACK empty",
    "9003000103": "SUBACK 3",
    "30ffffffff01": "length > 4B",
}


def test_the_keypads_packets_alone_on_micropython(micropython) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    out = micropython.run_json(
        SCRIPT,
        compiled=True,
        input_data={
            "stream": b"".join(x.encode() for x in BROKER_SENDS).hex(),
            "not_received": [x.encode().hex() for x in NOT_RECEIVED],
            "malformed": list(MALFORMED),
        },
    )
    assert out["file"].endswith(".mpy")
    assert out["sends"] == [
        c.Connect("kp-1", keepalive=30, will_topic="w/p", will_message=b"\x00", will_qos=1, will_retain=True,
                  username="kp-1", password="pw").encode().hex(),
        c.Publish("a/b", b"hi", qos=1, packet_id=7, dup=True).encode().hex(),
        c.Puback(7).encode().hex(),
        c.Subscribe(3, [("a/+", 1), ("x/#", 0)]).encode().hex(),
        c.Pingreq().encode().hex(),
        c.Disconnect().encode().hex(),
    ]  # fmt: skip
    assert out["receives"] == [[x.hex() if isinstance(x, bytes) else x for x in as_tuple(b)] for b in BROKER_SENDS]
    refused = out["refused"]
    assert refused[: len(NOT_RECEIVED)] == [
        "unwanted %d" % x.TYPE for x in NOT_RECEIVED
    ]
    assert refused[len(NOT_RECEIVED) :] == list(MALFORMED.values())
    # the keypad's client loads the keypad's side only
    assert out["loaded"] == ["firmware.mqtt", "firmware.mqtt.client", "firmware.mqtt.connect"]
