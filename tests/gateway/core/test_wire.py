"""gateway.core.wire is protocol.codec, sooner: the same frames, the same bytes, the same refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hvtest import strategies as fs
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core import wire
from protocol import codec, consts, frames, reasons
from protocol.errors import ProtocolError

CHANNELS = ("up", "status", "presence", "down")


def _outcome(call: Any, *args: Any) -> tuple[str, Any]:
    """What a decode or encode gave: the value, or the error's type, reason and message."""
    try:
        return "ok", call(*args)
    except ProtocolError as exc:
        return "error", (type(exc), exc.reason, str(exc))


def _same_decode(channel: str, device_id: str, data: bytes) -> tuple[str, Any]:
    got = _outcome(wire.decode_uplink, channel, device_id, data)
    assert got == _outcome(codec.decode_for_topic, channel, device_id, data)
    if got[0] == "ok":
        assert type(got[1]) is type(codec.decode_for_topic(channel, device_id, data))
        assert got[1].signature == data[-consts.SIGNATURE_LEN :]
    return got


@given(fs.uplinks)
def test_every_well_formed_uplink_decodes_as_the_codec_decodes_it(frame: frames.Uplink) -> None:
    data = codec.encode(frame)
    channel = "status" if isinstance(frame, frames.Health) else "up"
    kind, value = _same_decode(channel, frame.device_id, data)
    assert kind == "ok" and value == frame


@settings(max_examples=400)
@given(
    fs.uplinks,
    st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=3),
    st.integers(-3, 3),
    st.sampled_from(CHANNELS),
    st.booleans(),
)
def test_damaged_frames_are_refused_with_the_codecs_reason(
    frame: frames.Uplink, flips: list[tuple[int, int]], resize: int, channel: str, other_device: bool
) -> None:
    data = bytearray(codec.encode(frame))
    for at, value in flips:
        if at < len(data):
            data[at] = value
    if resize > 0:
        data.extend(bytes(resize))
    elif resize < 0:
        del data[resize:]
    device_id = "kp-other" if other_device else frame.device_id
    _same_decode(channel, device_id, bytes(data))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02", b"\x02\x03", b"\x01\x03\x04kp-1", bytes(300), b"\x02\x03\x10" + b"a" * 16 + bytes(80)],
)
def test_short_long_and_foreign_bytes(data: bytes) -> None:
    for channel in CHANNELS:
        _same_decode(channel, "kp-1", data)


def test_field_edge_values() -> None:
    sig = bytes(range(64))
    cases = [
        frames.Vote("kp-1", 1, 1, 1, b"n" * 8, consts.ITEM_LIST, (0,) * 31 + (3,), b"", sig),
        frames.Vote("kp-1", 2**32 - 1, 2**32 - 1, 255, b"n" * 8, consts.RATING, (4, 0, 1), b"\x11" * 10, sig),
        frames.CheckIn("a", 2**32 - 1, 2**32 - 1, bytes(8), b"", sig),
        frames.Status("z" * 16, 1, (255, 0, 9), 0, 255, -128, 2**32 - 1, sig),
        frames.Status("kp-1", 1, (1, 2, 3), 5, 100, 127, 0, sig),
    ]
    for frame in cases:
        data = codec.encode(frame)
        channel = "status" if isinstance(frame, frames.Health) else "up"
        assert _same_decode(channel, frame.device_id, data) == ("ok", frame)
        assert _same_decode(channel, frame.device_id, bytearray(data)) == ("ok", frame)  # the codec's path
    # a vote with no choice, and a padding nibble set: the codec's reasons
    empty = bytearray(codec.encode(cases[0]))
    choices_at = 3 + 4 + 4 + 4 + 1 + 8 + 1 + 1  # header, id, counter, motion, round, nonce, kind, count
    empty[choices_at + 15] = 0
    assert _same_decode("up", "kp-1", bytes(empty))[1][1] == reasons.EMPTY_BALLOT
    odd = bytearray(codec.encode(cases[1]))
    odd[3 + 4 + 4 + 4 + 1 + 8 + 1 + 1 + 1] |= 0x01  # rating, 3 items: the padding nibble of the 2nd byte
    assert _same_decode("up", "kp-1", bytes(odd))[1][1] == reasons.MALFORMED


@given(fs.acks())
def test_acks_encode_to_the_codecs_bytes(ack: frames.Ack) -> None:
    assert wire.encode_ack(ack) == codec.encode(ack)


@given(
    st.integers(-1, 2**32),
    st.integers(-1, 256) | st.just(True),
    st.sampled_from([0, consts.HELLO, consts.VOTE, consts.ACK, 0x3F, 300]),
    st.integers(-1, 2**32),
    st.integers(-1, 256),
    st.lists(st.integers(-1, 16) | st.just(True), max_size=34).map(tuple) | st.just([1]),
    st.text(max_size=10) | st.just("座位"),
)
def test_acks_out_of_range_are_refused_as_the_codec_refuses_them(
    counter: int, reason: int, acked: int, ref: int, round_: int, choices: Any, seat: str
) -> None:
    ack = frames.Ack(counter, reason, acked, ref, round_, choices, seat)
    assert _outcome(wire.encode_ack, ack) == _outcome(codec.encode, ack)


@given(fs.acks() | fs.nacks())
def test_a_reply_is_encoded_as_the_codec_encodes_it(reply: frames.Ack | frames.Nack) -> None:
    assert wire.encode_reply(reply) == codec.encode(reply)
