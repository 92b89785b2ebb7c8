"""protocol.codec: round trips, canonical bytes, and refusals with reason codes."""

from __future__ import annotations

import pytest
from hvtest import strategies as hs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec, consts, frames, reasons
from protocol.errors import DecodeError, EncodeError, ProtocolError

SIG = bytes(range(64))
NONCE = b"\x10\x11\x12\x13\x14\x15\x16\x17"


def vote(**kw: object) -> frames.Vote:
    base: dict[str, object] = dict(
        device_id="kp-0001",
        counter=7,
        motion_id=12,
        round=1,
        round_nonce=NONCE,
        ballot_kind=consts.YES_NO_ABSTAIN,
        choices=(consts.YES,),
        card_uid=b"",
        signature=SIG,
    )
    base.update(kw)
    return frames.Vote(**base)  # type: ignore[arg-type]


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(hs.any_frame)
def test_round_trip_every_frame_type(frame: frames.Frame) -> None:
    data = codec.encode(frame)
    assert codec.decode(data) == frame
    assert codec.encode(codec.decode(data)) == data
    assert codec.from_json(codec.to_json(frame)) == frame
    limit = consts.UPLINK_MAX if consts.is_uplink(frame.TYPE) else consts.BROADCAST_MAX
    assert len(data) <= limit


@given(hs.uplinks)
def test_signed_region_is_everything_before_the_signature(frame: frames.Uplink) -> None:
    data = codec.encode(frame)
    assert data[:-64] == codec.signed_region(frame)
    assert data[-64:] == frame.signature
    assert codec.seal(frame.replace(signature=b""), lambda region: frame.signature) == data  # type: ignore[arg-type]


def test_largest_uplink_fits_the_bound() -> None:
    frame = vote(
        device_id="k" * 16,
        ballot_kind=consts.RATING,
        choices=(4,) * 32,
        card_uid=b"\xff" * 10,
        counter=2**32 - 1,
    )
    data = codec.encode(frame)
    assert len(data) <= consts.UPLINK_MAX
    assert len(data) == 2 + 17 + 4 + 4 + 1 + 8 + 1 + 1 + 16 + 11 + 64


@settings(max_examples=3000)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        frame = codec.decode(data)
    except DecodeError as exc:
        assert reasons.is_refusal(exc.reason)
        assert reasons.known(exc.reason)
    else:
        assert codec.encode(frame) == data


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(hs.any_frame, st.data())
def test_mutated_frames_are_refused_or_canonical(frame: frames.Frame, data: st.DataObject) -> None:
    """A mutated encoding either fails to decode or decodes to a frame that re-encodes to exactly it."""
    raw = bytearray(codec.encode(frame))
    how = data.draw(st.sampled_from(["flip", "truncate", "extend", "set"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        decoded = codec.decode(bytes(raw))
    except DecodeError:
        return
    assert codec.encode(decoded) == bytes(raw)


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (b"", reasons.MALFORMED, "header"),
        (b"\x02", reasons.MALFORMED, "header"),
        (b"\x01\x04" + b"\x00" * 80, reasons.BAD_VERSION, "version 1"),
        (b"\x00\x04", reasons.BAD_VERSION, "version 0"),
        (b"\x01\x04" + b"\x00" * 300, reasons.BAD_VERSION, "version 1"),  # version before length
        (b"\x02\x7f", reasons.UNKNOWN_TYPE, "0x7f"),
        (b"\x02\x7f" + b"\x00" * 600, reasons.UNKNOWN_TYPE, "0x7f"),  # type before length
        (b"\x02\x04" + b"\x00" * 199, reasons.TOO_LONG, "201 bytes"),
        (b"\x02\x04" + b"\x00" * 40, reasons.MALFORMED, "signature"),
        (b"\x02\x81" + b"\x00" * 600, reasons.TOO_LONG, "602 bytes"),
    ],
)
def test_header_refusals(data: bytes, reason: int, detail: str) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(data)
    assert err.value.reason == reason
    assert detail in str(err.value)


def _reencode_with(frame: frames.Frame, offset: int, value: bytes) -> bytes:
    data = bytearray(codec.encode(frame))
    data[offset : offset + len(value)] = value
    return bytes(data)


# Offsets in vote() bytes: 0 ver, 1 type, 2 id len, 3..9 "kp-0001", 10..13 counter,
# 14..17 motion, 18 round, 19..26 nonce, 27 kind, 28 item count, 29 choices, 30 uid len.
@pytest.mark.parametrize(
    ("offset", "value", "reason", "detail"),
    [
        (3, b"K", reasons.MALFORMED, "device_id"),
        (2, b"\x00", reasons.MALFORMED, "device_id"),
        (10, b"\x00\x00\x00\x00", reasons.MALFORMED, "counter must not be 0"),
        (14, b"\x00\x00\x00\x00", reasons.MALFORMED, "motion_id must not be 0"),
        (18, b"\x00", reasons.MALFORMED, "round must not be 0"),
        (27, b"\x09", reasons.WRONG_BALLOT, "ballot kind"),
        (29, b"\x50", reasons.BAD_CHOICE, "choice 5"),
        (29, b"\x00", reasons.EMPTY_BALLOT, "no item"),
        (29, b"\x11", reasons.MALFORMED, "padding"),
        (28, b"\x02", reasons.WRONG_BALLOT, "exactly 1 item"),
        (30, b"\x0b", reasons.MALFORMED, "card_uid"),
    ],
)
def test_vote_field_refusals(offset: int, value: bytes, reason: int, detail: str) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(_reencode_with(vote(), offset, value))
    assert err.value.reason == reason, str(err.value)
    assert detail in str(err.value)


def test_trailing_bytes_before_signature_are_refused() -> None:
    frame = vote()
    region = codec.signed_region(frame)
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(region + b"\x00" + SIG)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (vote(choices=(consts.NONE,)), reasons.EMPTY_BALLOT),
        (vote(choices=(4,)), reasons.BAD_CHOICE),
        (vote(ballot_kind=consts.ITEM_LIST, choices=(1,) * 33), reasons.MALFORMED),
        (vote(ballot_kind=consts.RATING, choices=(5, 1)), reasons.BAD_CHOICE),
        (vote(ballot_kind=7), reasons.WRONG_BALLOT),
        (vote(device_id="KP-1"), reasons.MALFORMED),
        (vote(device_id="-kp"), reasons.MALFORMED),
        (vote(device_id="k" * 17), reasons.MALFORMED),
        (vote(round_nonce=b"short"), reasons.MALFORMED),
        (vote(card_uid=b"x" * 11), reasons.MALFORMED),
        (vote(counter=0), reasons.MALFORMED),
        (vote(counter=2**32), reasons.MALFORMED),
        (vote(round=256), reasons.MALFORMED),
        (vote(motion_id=True), reasons.MALFORMED),
        (vote(signature=b"x" * 63), reasons.BAD_SIGNATURE),
        (frames.Ack(1, reasons.BAD_SIGNATURE, consts.VOTE), reasons.MALFORMED),
        (frames.Ack(1, reasons.ACCEPTED, consts.ACK), reasons.MALFORMED),
        (frames.Ack(1, reasons.ACCEPTED, consts.VOTE, seat="A 12"), reasons.MALFORMED),
        (frames.Ack(1, reasons.ACCEPTED, consts.VOTE, seat="A-1234567"), reasons.MALFORMED),
        (frames.Nack(1, reasons.ACCEPTED, consts.VOTE), reasons.MALFORMED),
        (frames.Nack(1, 0x77, consts.VOTE), reasons.MALFORMED),
        (frames.SittingState(1, 9, NONCE, 10, 5, 0), reasons.MALFORMED),
        (frames.SittingState(1, 1, NONCE, 10, 11, 0), reasons.MALFORMED),
        (
            frames.MotionOpen(1, 1, NONCE, consts.YES_NO_ABSTAIN, 1, 0b0001, 1, 0, 255, 0, 0),
            reasons.MALFORMED,
        ),
        (
            frames.MotionOpen(1, 1, NONCE, consts.YES_NO_ABSTAIN, 1, 0b10000, 1, 0, 255, 0, 0),
            reasons.MALFORMED,
        ),
        (frames.MotionOpen(1, 1, NONCE, consts.RATING, 3, 0b11110, 3, 0, 255, 0, 0), reasons.MALFORMED),
        (frames.MotionOpen(1, 1, NONCE, consts.RATING, 3, 0b11110, 1, 4, 255, 0, 0), reasons.MALFORMED),
        (frames.MotionOpen(1, 1, NONCE, consts.RATING, 3, 0b11110, 1, 0, 3, 0, 0), reasons.MALFORMED),
        (
            frames.MotionOpen(1, 1, NONCE, consts.YES_NO_ABSTAIN, 2, 0b1110, 1, 0, 255, 0, 0),
            reasons.WRONG_BALLOT,
        ),
        (frames.ResultSummary(1, 1, consts.RATING, 10, 9, 1, 0, ((1, (1, 2, 3)),)), reasons.MALFORMED),
        (frames.ResultSummary(1, 1, consts.ITEM_LIST, 10, 9, 10, 0, ((1, (1, 2, 3)),)), reasons.MALFORMED),
        (frames.ResultSummary(1, 1, consts.ITEM_LIST, 10, 9, 1, 0, ((9, (1, 2, 3)),)), reasons.MALFORMED),
        (frames.ResultSummary(1, 1, consts.ITEM_LIST, 10, 9, 1, 0, ()), reasons.MALFORMED),
    ],
)
def test_encode_refuses_what_decode_would(frame: frames.Frame, reason: int) -> None:
    with pytest.raises(EncodeError) as err:
        codec.encode(frame)
    assert err.value.reason == reason, str(err.value)


def test_errors_are_protocol_errors_with_names() -> None:
    with pytest.raises(ProtocolError) as err:
        codec.decode(b"\x02\x04")
    assert err.value.reason_name == "MALFORMED"
    assert isinstance(err.value, DecodeError)


@pytest.mark.parametrize(
    ("channel", "frame_type"), [("up", consts.VOTE), ("up", consts.CHECK_IN), ("status", consts.STATUS)]
)
def test_decode_for_topic_accepts_the_right_channel(channel: str, frame_type: int) -> None:
    frame = {consts.VOTE: vote(), consts.CHECK_IN: frames.CheckIn("kp-0001", 1, 3, NONCE, b"", SIG)}.get(
        frame_type, frames.Status("kp-0001", 2, (1, 0, 0), 5, 80, -60, 90000, SIG)
    )
    assert codec.decode_for_topic(channel, "kp-0001", codec.encode(frame)) == frame


def test_decode_for_topic_refuses_other_device_and_channel() -> None:
    data = codec.encode(vote())
    with pytest.raises(DecodeError) as err:
        codec.decode_for_topic("up", "kp-0002", data)
    assert err.value.reason == reasons.DEVICE_MISMATCH
    with pytest.raises(DecodeError) as err:
        codec.decode_for_topic("status", "kp-0001", data)
    assert err.value.reason == reasons.UNKNOWN_TYPE
    ack = codec.encode(frames.Ack(7, reasons.ACCEPTED, consts.VOTE))
    with pytest.raises(DecodeError):
        codec.decode_for_topic("up", "kp-0001", ack)


def test_frame_values_equality_and_replace() -> None:
    a = vote()
    assert a == vote()
    assert a != vote(signature=b"\x00" * 64)
    assert hash(a) == hash(vote())
    b = a.replace(counter=8)
    assert isinstance(b, frames.Vote) and b.counter == 8 and a.counter == 7
    with pytest.raises(TypeError):
        a.replace(nonsense=1)
    assert "signature=<64 bytes>" in repr(a)
    opened = frames.MotionOpen(1, 1, NONCE, 1, 1, 0b1110, 1, consts.FLAG_SECRET, 255, 0, 0)
    assert opened.secret and not opened.paused


@pytest.mark.parametrize(
    ("channel", "data"),
    [
        # found by the attack suite: an ack type with an uplink body was MALFORMED, SPEC section 2 says UNKNOWN_TYPE
        ("up", b"\x02\x41" + codec.encode(vote())[2:]),
        ("up", b"\x02\x84" + b"\x00" * 300),  # a broadcast type: refused for its channel before its length
        ("status", b"\x02\x04" + b"\x00" * 250),  # a vote on status, too long and unreadable: the channel first
        ("up", b"\x02\x01\x00"),  # hello on up, cut short
    ],
)
def test_channel_is_checked_before_length_and_fields(channel: str, data: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode_for_topic(channel, "kp-0001", data)
    assert err.value.reason == reasons.UNKNOWN_TYPE


@given(st.binary(max_size=300), st.sampled_from(["up", "status"]))
def test_decode_for_topic_raises_only_decode_error(data: bytes, channel: str) -> None:
    try:
        frame = codec.decode_for_topic(channel, "kp-0001", data)
    except DecodeError as e:
        assert reasons.is_refusal(e.reason)
    else:
        assert frame.device_id == "kp-0001" and codec.encode(frame) == data
