"""The sans-I/O MQTT 3.1.1 codec: vectors, round trips, strictness, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.mqtt import codec as c

# --------------------------------------------------------------- byte-exact vectors
# Hand-assembled from the MQTT 3.1.1 spec's field layouts.

VECTORS = [
    (c.Pingreq(), "c000"),
    (c.Pingresp(), "d000"),
    (c.Disconnect(), "e000"),
    (c.Connack(False, 0), "20020000"),
    (c.Connack(True, 0), "20020100"),
    (c.Connack(False, c.REFUSED_NOT_AUTHORIZED), "20020005"),
    (c.Puback(0x1234), "40021234"),
    (c.Pubrel(1), "62020001"),
    (c.Unsuback(2), "b0020002"),
    (c.Publish("a/b", b"hi"), "3007" + "0003612f62" + "6869"),
    (c.Publish("a/b", b"hi", qos=1, packet_id=10, retain=True), "3309" + "0003612f62" + "000a" + "6869"),
    (c.Publish("a/b", b"", qos=1, packet_id=10, dup=True), "3a07" + "0003612f62" + "000a"),
    (c.Subscribe(1, [("a/+", 1)]), "8208" + "0001" + "0003612f2b" + "01"),
    (c.Suback(1, [1, c.SUBACK_FAILURE]), "9004" + "0001" + "0180"),
    (c.Unsubscribe(5, ["a/#"]), "a207" + "0005" + "0003612f23"),
    (
        c.Connect("kp", keepalive=60),
        "100e" + "00044d515454" + "04" + "02" + "003c" + "00026b70",
    ),
    (
        c.Connect(
            "kp",
            clean_session=False,
            keepalive=10,
            will_topic="w",
            will_message=b"\x00",
            will_qos=1,
            will_retain=True,
            username="u",
            password=b"p",
        ),
        "101a"
        + "00044d515454"
        + "04"
        + "ec"  # user, password, will retain, will QoS 1, will; clean session off
        + "000a"
        + "00026b70"
        + "000177"
        + "000100"
        + "000175"
        + "000170",
    ),
]


@pytest.mark.parametrize(("packet", "hexbytes"), VECTORS, ids=lambda v: repr(v)[:40])
def test_vectors_encode_and_decode(packet: c.Packet, hexbytes: str) -> None:
    data = bytes.fromhex(hexbytes)
    assert packet.encode() == data
    assert c.Parser().feed(data) == [packet]
    assert c.decode(data[0], data[2:]) == packet


@pytest.mark.parametrize(
    ("length", "size"),
    [(0, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (2097151, 3), (2097152, 4)],
)
def test_remaining_length_varint_sizes(length: int, size: int) -> None:
    # a QoS 0 PUBLISH with a 1-byte topic: body = 2 + 1 + payload
    pkt = c.Publish("t", b"x" * (length - 3)) if length >= 3 else None
    if pkt is None:
        data = c.Pingreq().encode() if length == 0 else None
        assert data is not None
        assert len(data) == 2
        return
    data = pkt.encode()
    assert len(data) == 1 + size + length
    assert c.Parser().feed(data) == [pkt]


def test_largest_remaining_length_is_accepted_as_pending() -> None:
    header = bytes.fromhex("30ffffff7f")  # 268435455
    p = c.Parser()
    assert p.feed(header) == []
    assert p.pending() == 5


def test_packet_over_the_parser_limit_fails_before_buffering() -> None:
    p = c.Parser(max_packet=100)
    with pytest.raises(c.MQTTProtocolError, match="exceeds"):
        p.feed(bytes.fromhex("30ff01"))


def test_connack_message_text() -> None:
    assert c.Connack(False, 4).message == "bad user name or password"


# --------------------------------------------------------------- strict decoding

MALFORMED = [
    ("0000", "reserved packet type 0"),
    ("f000", "reserved packet type 15"),
    ("c100", "bad fixed header flags"),  # PINGREQ with a flag
    ("8008000100036162630100", "bad fixed header flags"),  # SUBSCRIBE without 0b0010
    ("6002000a", "bad fixed header flags"),  # PUBREL must carry 0b0010
    ("c00100", "trailing"),
    ("200100", "truncated"),
    ("20020200", "CONNACK flags"),
    ("20020006", "CONNACK 6"),
    ("20020105", "SP on refusal"),
    ("3603000174", "QoS 3"),
    ("3803000174", "QoS 0 DUP"),
    ("3003000261", "truncated"),
    ("300400012b78", "bad topic$"),  # '+' in a topic name
    ("300100", "truncated"),
    ("30020000", "bad topic$"),  # empty topic
    ("3205000174" + "0000", "packet id 0"),
    ("30050003c3287a", "not UTF-8"),
    ("3004000100" + "78", r"U\+0000"),
    ("40020000", "packet id 0"),
    ("4003000100", "trailing"),
    ("82020001", "without topics"),
    ("8206000100016103", "bad requested QoS"),
    ("82070001000261230001", "bad topic filter"),  # 'a#'
    ("900100", "truncated"),
    ("90020001", "SUBACK empty"),
    ("9003000103", "SUBACK 3"),
    ("a2020001", "without topics"),
    ("b003000100", "trailing"),
    ("100c00044d5154540302003c0000", "protocol level 3"),
    ("100c00044d5151540402003c0000", "protocol name"),
    ("100c00044d5154540403003c0000", "reserved CONNECT flag"),
    ("100c00044d5154540412003c0000", "will QoS/retain without will flag"),
    ("100c00044d5154540442003c0000", "password flag without username"),
    ("100c00044d515454041e003c0000", "will QoS 3"),
    ("30ffffffff01", "longer than 4 bytes"),
]


@pytest.mark.parametrize(("hexbytes", "message"), MALFORMED)
def test_malformed_input_raises_protocol_error(hexbytes: str, message: str) -> None:
    with pytest.raises(c.MQTTProtocolError, match=message):
        c.Parser().feed(bytes.fromhex(hexbytes))


def test_incomplete_packet_waits_for_more_bytes() -> None:
    p = c.Parser()
    assert p.feed(bytes.fromhex("200300")) == []
    assert p.pending() == 3


def test_parser_stays_failed_after_an_error() -> None:
    p = c.Parser()
    with pytest.raises(c.MQTTProtocolError):
        p.feed(b"\x00\x00")
    with pytest.raises(c.MQTTProtocolError):
        p.feed(c.Pingreq().encode())


@pytest.mark.parametrize(
    "make",
    [
        lambda: c.Publish("a/+", b""),
        lambda: c.Publish("", b""),
        lambda: c.Publish("a", b"", qos=3, packet_id=1),
        lambda: c.Publish("a", b"", qos=1),
        lambda: c.Publish("a", b"", qos=1, packet_id=0),
        lambda: c.Publish("a", b"", qos=1, packet_id=65536),
        lambda: c.Publish("a", b"", dup=True),
        lambda: c.Publish("a", "text"),
        lambda: c.Publish("a\x00", b""),
        lambda: c.Publish("a" * 65536, b""),
        lambda: c.Connect("kp", password=b"x"),
        lambda: c.Connect("kp", will_qos=1),
        lambda: c.Connect("kp", will_topic="w/#"),
        lambda: c.Connect("kp", keepalive=70000),
        lambda: c.Connack(False, 6),
        lambda: c.Subscribe(1, []),
        lambda: c.Subscribe(1, [("a/b#", 0)]),
        lambda: c.Subscribe(1, [("a", 3)]),
        lambda: c.Suback(1, [3]),
        lambda: c.Unsubscribe(1, []),
        lambda: c.Puback(0),
    ],
)
def test_encoding_bad_values_raises_protocol_error(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(c.MQTTProtocolError):
        make().encode()


def test_topic_filter_rules() -> None:
    good = ["a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/", "a//b", "hallvote/v2/h/hall/+"]
    bad = ["", "a#", "a/#/b", "a+", "+a/b", "##"]
    assert all(c.valid_topic_filter(f) for f in good)
    assert not any(c.valid_topic_filter(f) for f in bad)
    assert c.valid_topic_name("a/b") and not c.valid_topic_name("a/+")


# --------------------------------------------------------------- hypothesis

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00+#"),
    max_size=20,
)
topic = text.filter(lambda t: len(t) > 0)
pid = st.integers(1, 0xFFFF)
payload = st.binary(max_size=300)
level = st.one_of(text.filter(lambda t: "/" not in t), st.just("+"))
topic_filter = st.one_of(
    st.lists(level, min_size=1, max_size=4).map("/".join),
    st.lists(level, max_size=3).map(lambda ls: "/".join([*ls, "#"])),
).filter(c.valid_topic_filter)


@st.composite
def publishes(draw: st.DrawFn) -> c.Publish:
    qos = draw(st.integers(0, 2))
    return c.Publish(
        draw(topic),
        draw(payload),
        qos=qos,
        retain=draw(st.booleans()),
        dup=draw(st.booleans()) if qos else False,
        packet_id=draw(pid) if qos else None,
    )


@st.composite
def connects(draw: st.DrawFn) -> c.Connect:
    will = draw(st.booleans())
    username = draw(st.one_of(st.none(), text))
    return c.Connect(
        draw(text),
        clean_session=draw(st.booleans()),
        keepalive=draw(st.integers(0, 0xFFFF)),
        will_topic=draw(topic) if will else None,
        will_message=draw(payload) if will else b"",
        will_qos=draw(st.integers(0, 2)) if will else 0,
        will_retain=draw(st.booleans()) if will else False,
        username=username,
        password=draw(st.one_of(st.none(), payload)) if username is not None else None,
    )


packets = st.one_of(
    publishes(),
    connects(),
    st.builds(lambda rc, sp: c.Connack(sp and rc == 0, rc), st.integers(0, 5), st.booleans()),
    st.builds(c.Puback, pid),
    st.builds(c.Pubrec, pid),
    st.builds(c.Pubrel, pid),
    st.builds(c.Pubcomp, pid),
    st.builds(c.Unsuback, pid),
    st.builds(
        c.Subscribe,
        pid,
        st.lists(st.tuples(topic_filter, st.integers(0, 2)), min_size=1, max_size=4),
    ),
    st.builds(c.Suback, pid, st.lists(st.sampled_from([0, 1, 2, 0x80]), min_size=1, max_size=5)),
    st.builds(c.Unsubscribe, pid, st.lists(topic_filter, min_size=1, max_size=4)),
    st.just(c.Pingreq()),
    st.just(c.Pingresp()),
    st.just(c.Disconnect()),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(packets, min_size=1, max_size=6), st.data())
def test_split_anywhere_yields_the_same_packets(pkts: list[c.Packet], data: st.DataObject) -> None:
    stream = b"".join(p.encode() for p in pkts)
    assert c.Parser().feed(stream) == pkts
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    parser = c.Parser()
    got: list[c.Packet] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        got += parser.feed(stream[prev:cut])
        prev = cut
    assert got == pkts
    assert parser.pending() == 0


@settings(max_examples=1000)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_protocol_error(blob: bytes) -> None:
    try:
        out = c.Parser().feed(blob)
    except c.MQTTProtocolError:
        return
    for pkt in out:  # whatever decoded must re-encode to a packet that decodes equal
        assert c.Parser().feed(pkt.encode()) == [pkt]


@settings(max_examples=500)
@given(packets, st.integers(0, 10_000), st.integers(0, 255))
def test_one_corrupted_byte_only_raises_protocol_error(pkt: c.Packet, pos: int, value: int) -> None:
    data = bytearray(pkt.encode())
    data[pos % len(data)] = value
    with contextlib.suppress(c.MQTTProtocolError):
        c.Parser().feed(bytes(data))
