"""protocol/device.py, the keypad's side of the codec, against the gateway's full codec and topics.

Property tests: for any uplink frame (valid, or with one field replaced by
an odd value) the device's ``seal`` gives the same bytes as
``protocol.codec.seal`` or refuses with the same reason; for any bytes
(valid downlink and broadcast frames, the same mutated, random bodies
behind a valid header, raw layouts with out-of-range fields) its ``decode``
gives a frame of the same type with the same fields under the same names
(equal to the full codec's frame object) or refuses with the same reason,
and refuses every uplink frame as UNKNOWN_TYPE; its topics are the
topics module's.  Then the same comparison on the real MicroPython
interpreter from mpy-cross output, where importing it loads neither the
full codec nor the topics module nor the frame classes nor the reason
table.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hvtest import strategies as fs
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol import codec, consts, device, frames, reasons, topics
from protocol.errors import DecodeError, EncodeError

SETTINGS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
DOWN_TYPES = (consts.ACK, consts.NACK, consts.SITTING_STATE, consts.MOTION_OPEN, consts.MOTION_CLOSED,
              consts.RESULT_SUMMARY)  # fmt: skip
UP_TYPES = (consts.HELLO, consts.STATUS, consts.CHECK_IN, consts.VOTE)
SIG = bytes(range(64))


def _sign(region: bytes) -> bytes:
    return SIG


def outcome(fn: Callable[[], Any], error: type[Exception]) -> tuple[Any, ...]:
    """("ok", result, its class) or ("refused", reason code); any other exception propagates."""
    try:
        result = fn()
    except error as e:
        return ("refused", e.reason)  # type: ignore[attr-defined]
    return ("ok", result, type(result))


def expected_decode(data: bytes) -> tuple[Any, ...]:
    """What the device's decode must give: the full codec's outcome, but UNKNOWN_TYPE for an uplink."""
    if len(data) >= 2 and data[0] == consts.VERSION and data[1] in UP_TYPES:
        return ("refused", reasons.UNKNOWN_TYPE)
    return outcome(lambda: codec.decode(data), DecodeError)


def as_frame(got: device.Frame) -> frames.Frame:
    """The full codec's frame object for what the device decoded, once its attributes are exactly
    that class's fields (and, on a motion-open, ``secret`` and ``paused`` from its flags)."""
    cls = codec.CLASSES[got.TYPE]
    extra = {"secret", "paused"} if got.TYPE == consts.MOTION_OPEN else set()
    assert set(vars(got)) == {"TYPE", *cls.FIELDS} | extra
    frame = cls(*got.values())
    assert tuple(getattr(got, name) for name in cls.FIELDS) == frame.values() == got.values()
    if extra:
        assert (got.secret, got.paused) == (frame.secret, frame.paused)  # type: ignore[attr-defined]
    assert got == frame and not got != frame  # noqa: SIM202  (both operators, as the keypad uses !=)
    return frame


def decoded_alike(data: bytes) -> tuple[Any, ...]:
    got = outcome(lambda: as_frame(device.decode(data)), DecodeError)
    assert got == expected_decode(data), data.hex()
    return got


def device_seal(frame: object, sign: Callable[[bytes], object]) -> bytes:
    """The device's seal of a frame object: its type and field values (the keypad's own call)."""
    values = frame.values() if isinstance(frame, frames.Frame) else ()
    return device.seal(getattr(frame, "TYPE", 0), values, sign)


def sealed_alike(frame: object, sign: Callable[[bytes], object] = _sign) -> tuple[Any, ...]:
    want = outcome(lambda: codec.seal(frame, sign), EncodeError)  # type: ignore[arg-type]
    got = outcome(lambda: device_seal(frame, sign), EncodeError)
    assert got == want, frame
    return got


# ---------------------------------------------------------------- raw layouts (no checks)


def raw(frame_type: int, values: list[Any]) -> bytes:
    """A frame's bytes from field values, in the full codec's layout, checking nothing."""
    out = bytearray((consts.VERSION, frame_type))
    for (_name, kind), v in zip(codec.LAYOUTS[frame_type], values, strict=True):
        if kind in ("u8", "u16", "u32", "i8"):
            out += struct.pack({"u8": ">B", "u16": ">H", "u32": ">I", "i8": ">b"}[kind], v)
        elif kind in ("nonce", "head"):
            out += v
        elif kind in ("id", "seat", "uid"):
            out += bytes((len(v),)) + v
        elif kind == "choices":
            packed = bytearray((len(v) + 1) // 2)
            for i, c in enumerate(v):
                packed[i // 2] |= c << 4 if i % 2 == 0 else c
            out += bytes((len(v),)) + packed
        elif kind == "items":
            out += bytes((len(v),))
            for o, counts in v:
                out += bytes((o,)) + b"".join(struct.pack(">H", c) for c in counts)
    return bytes(out)


small = st.integers(0, 6) | st.sampled_from([0x0E, 0x1E, 0x10, 0x1F, 0x24, 0x50, 0x51, 0x3F, 0xFF])
u8 = small | st.integers(0, 255)
u16 = st.integers(0, 8) | st.integers(0, 65535)
u32 = st.integers(0, 2) | st.integers(0, 2**32 - 1)
seat_bytes = st.binary(max_size=10) | st.text("AB-12 ~\x7f", max_size=9).map(str.encode)


@st.composite
def raw_downlinks(draw: st.DrawFn) -> bytes:
    """Every downlink and broadcast layout with each field drawn near and beyond its limits."""
    t = draw(st.sampled_from(DOWN_TYPES))
    values: list[Any] = []
    for _name, kind in codec.LAYOUTS[t]:
        if kind == "u8":
            values.append(draw(u8))
        elif kind == "u16":
            values.append(draw(u16))
        elif kind == "u32":
            values.append(draw(u32))
        elif kind == "nonce":
            values.append(draw(st.binary(min_size=8, max_size=8)))
        elif kind == "head":
            values.append(draw(st.binary(min_size=32, max_size=32)))
        elif kind == "seat":
            values.append(draw(seat_bytes))
        elif kind == "choices":
            values.append(draw(st.lists(st.integers(0, 15), max_size=34)))
        elif kind == "items":
            width = draw(st.sampled_from([3, 4]))
            n = draw(st.integers(0, 34))
            values.append([(draw(u8), [draw(u16) for _ in range(width)]) for _ in range(n)])
    data = raw(t, values)
    cut = draw(st.sampled_from([0, 0, 0, 1, 2, -1]))
    return data[:-cut] if cut > 0 else data + b"\x00" if cut < 0 else data


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(codec.encode(draw(fs.any_frame)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


# ---------------------------------------------------------------- decode


@SETTINGS
@given(fs.any_frame)
def test_decode_of_every_valid_frame_matches_the_full_codec(frame: frames.Frame) -> None:
    got = decoded_alike(codec.encode(frame))
    if frame.TYPE in DOWN_TYPES:
        assert got[0] == "ok" and got[1] == frame


@SETTINGS
@given(raw_downlinks())
def test_decode_of_fields_at_and_beyond_their_limits_matches(data: bytes) -> None:
    decoded_alike(data)


@SETTINGS
@given(mutated() | st.builds(lambda t, b: bytes((2, t)) + b, st.sampled_from(DOWN_TYPES), st.binary(max_size=60)))
def test_decode_of_mutated_and_random_bytes_matches(data: bytes) -> None:
    decoded_alike(data)


def test_decode_refusals_cover_every_reason_the_full_codec_gives() -> None:
    cases = {
        b"": reasons.MALFORMED,
        b"\x01\x41": reasons.BAD_VERSION,
        b"\x02\x99": reasons.UNKNOWN_TYPE,
        b"\x02\x42" + bytes(300): reasons.TOO_LONG,
        raw(consts.MOTION_OPEN, [3, 1, bytes(8), 9, 1, 2, 1, 0, 0xFF, 0, 0]): reasons.WRONG_BALLOT,
        raw(consts.RESULT_SUMMARY, [3, 1, 1, 5, 5, 0, 1, [(1, [5, 0, 0]), (1, [5, 0, 0])], 0, bytes(32)]):
            reasons.WRONG_BALLOT,
        raw(consts.ACK, [5, 0x10, consts.VOTE, 3, 1, [1], b""]): reasons.MALFORMED,  # a refusal in an ack
    }  # fmt: skip
    for data, reason in cases.items():
        assert decoded_alike(data) == ("refused", reason)
    assert decoded_alike(codec.encode(frames.Nack(4, reasons.BUSY, 0)))[0] == "ok"
    # not bytes at all
    assert outcome(lambda: device.decode("02 41"), DecodeError) == ("refused", reasons.MALFORMED)  # type: ignore[arg-type]


# ---------------------------------------------------------------- seal

ODD = [-1, 0, 1, 255, 256, 65536, 2**32, -129, True, None, 1.5, "x", "kp-1", "-kp", "kp_1", "é", "a" * 17, "",
       b"", bytes(8), bytes(9), bytes(11), bytearray(8), (), (1,), (0,), (16,), (1, 2, 3), (1, True), (1, -1),
       (4,), (0, 0), tuple([1] * 33), (255, 0, 0), (1, 2, 256)]  # fmt: skip


@SETTINGS
@given(fs.uplinks)
def test_seal_of_every_valid_uplink_matches_the_full_codec(frame: frames.Uplink) -> None:
    got = sealed_alike(frame)
    assert got[0] == "ok" and got[1] == codec.seal(frame, _sign)


@SETTINGS
@given(fs.uplinks, st.data())
def test_seal_with_a_field_replaced_by_an_odd_value_matches(frame: frames.Uplink, data: st.DataObject) -> None:
    odd = copy.copy(frame)
    for _ in range(data.draw(st.integers(1, 2))):
        setattr(odd, data.draw(st.sampled_from(frame.FIELDS)), data.draw(st.sampled_from(ODD) | st.integers()))
    sealed_alike(odd)


def test_seal_refusals_cover_every_reason_the_full_codec_gives() -> None:
    vote = frames.Vote("kp-1", 5, 3, 1, bytes(8), consts.YES_NO_ABSTAIN, (1,))
    cases = [
        (vote.replace(choices=(9,)), reasons.BAD_CHOICE),
        (vote.replace(choices=(16,)), reasons.BAD_CHOICE),
        (vote.replace(ballot_kind=7), reasons.WRONG_BALLOT),
        (vote.replace(choices=(1, 1)), reasons.WRONG_BALLOT),
        (vote.replace(choices=(0,)), reasons.EMPTY_BALLOT),
        (vote.replace(counter=0), reasons.MALFORMED),
        (frames.Hello("kp-1", 1, (1, 0, 0), 0, 101, 0, 0), reasons.MALFORMED),
        (frames.CheckIn("kp-1", 1, 0, bytes(8)), reasons.MALFORMED),
        (frames.Ack(1, 0, consts.VOTE), reasons.UNKNOWN_TYPE),
        ("not a frame", reasons.UNKNOWN_TYPE),
    ]
    for frame, reason in cases:
        assert sealed_alike(frame) == ("refused", reason)
    for bad_signer in (lambda r: bytes(63), lambda r: bytearray(64), lambda r: None):
        assert sealed_alike(vote, bad_signer) == ("refused", reasons.BAD_SIGNATURE)


def test_seal_signs_exactly_the_region_before_the_signature() -> None:
    seen: list[bytes] = []
    vote = frames.Vote("kp-1", 5, 3, 1, bytes(8), consts.ITEM_LIST, (1, 0, 3), b"\x04\x01\x02\x03")
    wire = device.seal(vote.TYPE, vote.values(), lambda r: seen.append(r) or SIG)
    assert seen == [codec.signed_region(vote)] and wire == seen[0] + SIG
    assert codec.decode(wire) == vote.replace(signature=SIG)


# ---------------------------------------------------------------- topics

ids = fs.device_ids | st.sampled_from(["", "-a", "A", "a/b", "a+", "a" * 17, "é", "h1"]) | st.text(max_size=5)
channels = st.sampled_from(topics.DEVICE_CHANNELS + topics.BROADCAST_CHANNELS + ("", "upp", "+"))


@SETTINGS
@given(ids, ids, channels)
def test_topics_match_the_topics_module(hall: str, dev: str, channel: str) -> None:
    want = outcome(lambda: topics.device(hall, dev, channel), EncodeError)
    assert outcome(lambda: device.topic(hall, dev, channel), EncodeError) == want
    want = outcome(lambda: topics.broadcast_filter(hall), EncodeError)
    assert outcome(lambda: device.hall_filter(hall), EncodeError) == want


@SETTINGS
@given(st.lists(ids | channels | st.sampled_from(["hallvote", "v2", "v1", "dev", "hall"]), max_size=7))
def test_parse_topic_matches_the_topics_module(parts: list[str]) -> None:
    for topic in ("/".join(parts), "hallvote/v2/" + "/".join(parts)):
        want = outcome(lambda: topics.parse(topic), DecodeError)  # noqa: B023
        assert outcome(lambda: device.parse_topic(topic), DecodeError) == want  # noqa: B023


def test_topics_of_a_keypad() -> None:
    assert device.topic("h1", "kp-1", "presence") == "hallvote/v2/h1/dev/kp-1/presence"
    assert device.parse_topic("hallvote/v2/h1/hall/motion") == ("h1", "", "motion")
    assert (device.PRESENCE_ONLINE, device.PRESENCE_OFFLINE) == (topics.PRESENCE_ONLINE, topics.PRESENCE_OFFLINE)
    assert outcome(lambda: device.parse_topic(None), DecodeError) == ("refused", reasons.MALFORMED)  # type: ignore[arg-type]


# ---------------------------------------------------------------- its numbers


def test_the_const_numbers_are_the_protocols() -> None:
    named = {k: v for k, v in vars(device).items() if k.startswith("_") and k[1:].isupper()}
    derived = {
        "_FIRST_REFUSAL": min(c for c in reasons.CODES if reasons.is_refusal(c)),
        "_OUTCOME_MAX": max(consts.OUTCOMES),
        "_SITTING_STATE_MAX": max(consts.SITTING_STATES),
        "_FLAGS": consts.FLAG_SECRET | consts.FLAG_PAUSED,
        "_ID_MAX": topics.ID_MAX,
        "_KINDS": consts.BALLOT_KINDS,
        "_UPLINK_TYPES": UP_TYPES,
        "_ID_CHARS": "abcdefghijklmnopqrstuvwxyz0123456789-",
        "_PREFIX": topics.PREFIX + "/",
        "_DEVICE_CHANNELS": topics.DEVICE_CHANNELS,
        "_HALL_CHANNELS": topics.BROADCAST_CHANNELS,
        "_HEALTH": device._UP[consts.HELLO],
        "_REASONS": bytes(reasons.CODES),  # one byte per code
    }
    for key, value in named.items():
        if key in derived:
            assert value == derived[key], key
        elif key not in ("_UP", "_DOWN", "_TEXTS"):
            want = getattr(consts, key[1:], getattr(reasons, key[1:], None))
            assert want is not None and value == want, key
    assert set(device._UP) == set(UP_TYPES) and set(device._DOWN) == set(DOWN_TYPES)
    for t, layout in device._UP.items():
        assert len(layout) == len(codec.LAYOUTS[t])
    for t, (layout, names) in device._DOWN.items():
        assert len(layout) == len(codec.LAYOUTS[t]) and names == codec.CLASSES[t].FIELDS


def test_seal_refuses_values_that_are_not_one_frames_fields() -> None:
    vote = frames.Vote("kp-1", 5, 3, 1, bytes(8), consts.YES_NO_ABSTAIN, (1,))
    assert device.seal(vote.TYPE, vote.values(), _sign) == codec.seal(vote, _sign)
    for values in (vote.values()[:-1], (*vote.values(), b""), list(vote.values()), None):
        got = outcome(lambda: device.seal(consts.VOTE, values, _sign), EncodeError)  # type: ignore[arg-type]  # noqa: B023
        assert got == ("refused", reasons.MALFORMED)


# ---------------------------------------------------------------- on MicroPython

MP_SCRIPT = r"""
import sys, hvhost
from protocol import device
from protocol.errors import ProtocolError

inp = hvhost.load_input()
loaded = sorted(k for k in sys.modules if k.startswith("protocol"))


def plain(v):
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    return v


decoded = []
for h in inp["decode"]:
    try:
        f = device.decode(bytes.fromhex(h))
        decoded.append([f.TYPE, plain(f.values())])
    except ProtocolError as e:
        decoded.append(["refused", e.reason])
sealed = []
for frame_type, fields in inp["seal"]:
    args = [bytes.fromhex(a[1]) if isinstance(a, list) and a and a[0] == "hex" else a for a in fields]
    args = [tuple(a) if isinstance(a, list) else a for a in args]
    try:
        sealed.append(device.seal(frame_type, tuple(args), lambda r: bytes(range(64))).hex())
    except ProtocolError as e:
        sealed.append(e.reason)
topics = []
for t in inp["topics"]:
    try:
        topics.append(list(device.parse_topic(t)))
    except ProtocolError as e:
        topics.append(e.reason)
hvhost.result({"loaded": loaded, "decoded": decoded, "sealed": sealed, "topics": topics,
               "made": device.topic("h1", "kp-1", "up") + " " + device.hall_filter("h1")})
"""


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _mp_field(v: Any) -> Any:
    return ["hex", v.hex()] if isinstance(v, bytes) else list(v) if isinstance(v, tuple) else v


def test_device_codec_on_micropython(micropython) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    examples = st.one_of(fs.any_frame.map(codec.encode), raw_downlinks(), mutated())
    inputs: list[bytes] = []

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(examples)
    def collect(data: bytes) -> None:
        inputs.append(data)

    collect()
    # one well-formed ack always, so the frame comparison below never depends on the draw
    inputs.append(codec.encode(frames.Ack(7, reasons.ACCEPTED, consts.VOTE, 3, 1, (1,), "")))
    uplinks: list[frames.Frame] = []

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(fs.uplinks, st.sampled_from([None, "counter", "battery", "choices", "ballot_kind", "motion_id"]))
    def collect_up(frame: frames.Uplink, spoil: str | None) -> None:
        assume(spoil is None or spoil in frame.FIELDS)
        if spoil is not None:
            frame = copy.copy(frame)
            setattr(frame, spoil, {"choices": (1, 9), "battery": 150}.get(spoil, 0))
        uplinks.append(frame)

    collect_up()
    tops = ["hallvote/v2/h1/dev/kp-1/down", "hallvote/v2/h1/hall/result", "hallvote/v1/h1/hall/result",
            "hallvote/v2/h1/dev/kp-1/nope", "hallvote/v2/-h/hall/motion", "x"]  # fmt: skip
    out = micropython.run_json(
        MP_SCRIPT,
        compiled=True,
        input_data={
            "decode": [d.hex() for d in inputs],
            "seal": [[f.TYPE, [_mp_field(v) for v in f.values()]] for f in uplinks],
            "topics": tops,
        },
    )
    # the keypad's protocol: no full codec, no topics module, no frame classes, no reason table or texts
    assert out["loaded"] == ["protocol", "protocol.device", "protocol.errors"]
    for data, got in zip(inputs, out["decoded"], strict=True):
        want = expected_decode(data)
        expected = ["refused", want[1]] if want[0] == "refused" else [want[1].TYPE, _plain(want[1].values())]
        assert got == expected, data.hex()
    assert {g[0] for g in out["decoded"]} > {"refused", consts.ACK}  # frames and refusals both compared
    for frame, got in zip(uplinks, out["sealed"], strict=True):
        want = outcome(lambda: codec.seal(frame, _sign), EncodeError)  # type: ignore[arg-type]  # noqa: B023
        assert got == (want[1].hex() if want[0] == "ok" else want[1]), frame
    assert sum(isinstance(s, str) for s in out["sealed"]) > 0 and sum(isinstance(s, int) for s in out["sealed"]) > 0
    for t, got in zip(tops, out["topics"], strict=True):
        want = outcome(lambda: topics.parse(t), DecodeError)  # noqa: B023
        assert got == (list(want[1]) if want[0] == "ok" else want[1]), t
    assert out["made"] == topics.device("h1", "kp-1", "up") + " " + topics.broadcast_filter("h1")


def test_the_comparison_catches_a_wrong_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property can fail: a device encoder that packs one field differently is caught."""
    monkeypatch.setitem(device._UP, consts.CHECK_IN, (frames.CheckIn, "dIHnu"))
    with pytest.raises(AssertionError):
        sealed_alike(frames.CheckIn("kp-1", 1, 7, bytes(8)))
