"""Generates protocol/vectors.json, the golden cases of protocol v2.

    python -m hil.vectors --write    regenerate protocol/vectors.json
    python -m hil.vectors --check    exit 1 if the committed file differs

Signed cases use a fixed test key and a fixed nonce per case (both derived
from public strings below), so any implementation can reproduce the exact
signature bytes.  The test key is public: it must never be put on a keypad.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from firmware.signer import public_key_sec1, sign_with_nonce
from hil import decisions
from protocol import codec, consts, frames, reasons, topics

OUT = Path(__file__).resolve().parents[1] / "protocol" / "vectors.json"
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _scalar(label: str) -> bytes:
    value = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (N - 1) + 1
    return value.to_bytes(32, "big")


TEST_SECRET = _scalar("hallvote protocol v1 test key")
SITTING_NONCE = bytes.fromhex("5a17c0de20261124")
ROUND_NONCE = bytes.fromhex("9e3779b97f4a7c15")
ISSUED = 1795500000  # 2026-11-24T05:20:00Z
AUDIT_HEAD = hashlib.sha256(b"hallvote protocol v2 example audit head").digest()


def _uplinks() -> list[tuple[str, frames.Uplink]]:
    dev = "kp-0001"
    return [
        ("hello", frames.Hello(dev, 1, (1, 0, 0), 12, 95, -58, 92000)),
        ("status on mains power", frames.Status(dev, 2, (1, 0, 0), 3600, 255, -61, 91344)),
        ("check-in with card", frames.CheckIn(dev, 3, 42, SITTING_NONCE, bytes.fromhex("04a1b2c3"))),
        ("check-in without card", frames.CheckIn(dev, 4, 42, SITTING_NONCE)),
        ("vote yes", frames.Vote(dev, 5, 7, 1, ROUND_NONCE, consts.YES_NO_ABSTAIN, (consts.YES,))),
        (
            "vote abstain, round 2",
            frames.Vote(dev, 6, 7, 2, ROUND_NONCE, consts.YES_NO_ABSTAIN, (consts.ABSTAIN,)),
        ),
        (
            "vote on 12 livelihood candidates",
            frames.Vote(dev, 7, 8, 1, ROUND_NONCE, consts.ITEM_LIST, (1, 1, 2, 3, 1, 0, 1, 1, 2, 1, 1, 3)),
        ),
        ("rating of 3 projects", frames.Vote(dev, 8, 9, 1, ROUND_NONCE, consts.RATING, (2, 3, 4))),
        (
            "largest uplink: 32 items, 10-byte card, 16-char id",
            frames.Vote(
                "kp-0123456789abc",
                0xFFFFFFFE,
                0xFFFFFFFF,
                255,
                ROUND_NONCE,
                consts.RATING,
                (1, 2, 3, 4) * 8,
                b"\x88" * 10,
            ),
        ),
    ]


def _others() -> list[tuple[str, frames.Frame]]:
    ok, again = reasons.ACCEPTED, reasons.ALREADY_RECORDED
    return [
        ("ack named vote", frames.Ack(5, ok, consts.VOTE, 7, 1, (consts.YES,))),
        ("ack secret vote (choice withheld)", frames.Ack(5, ok, consts.VOTE, 7, 1)),
        ("ack retransmitted vote", frames.Ack(5, again, consts.VOTE, 7, 1)),
        ("ack changed vote (last press)", frames.Ack(9, reasons.REPLACED, consts.VOTE, 7, 1, (consts.NO,))),
        ("ack check-in with seat", frames.Ack(3, ok, consts.CHECK_IN, 42, 0, (), "A-12")),
        ("ack status", frames.Ack(2, ok, consts.STATUS)),
        ("ack hello", frames.Ack(1, ok, consts.HELLO)),
        ("nack check-in without the member's card", frames.Nack(4, reasons.CARD_MISMATCH, consts.CHECK_IN)),
        ("nack bad signature", frames.Nack(5, reasons.BAD_SIGNATURE, consts.VOTE)),
        ("nack unreadable frame", frames.Nack(0, reasons.MALFORMED, 0)),
        ("nack vote after close", frames.Nack(10, reasons.ROUND_CLOSED, consts.VOTE)),
        ("sitting check-in open", frames.SittingState(42, consts.SITTING_CHECKIN_OPEN, SITTING_NONCE, 300, 0, ISSUED)),
        ("sitting in session", frames.SittingState(42, consts.SITTING_IN_SESSION, SITTING_NONCE, 300, 287, ISSUED)),
        (
            "motion open: secret yes/no/abstain, first press, 60 s countdown",
            frames.MotionOpen(
                7, 1, ROUND_NONCE, consts.YES_NO_ABSTAIN, 1, 0b1110, consts.FIRST_PRESS, consts.FLAG_SECRET,
                consts.ALL_ITEMS, ISSUED, ISSUED + 60,
            ),
        ),
        (
            "motion open: 12 candidates, last press, no countdown",
            frames.MotionOpen(
                8, 1, ROUND_NONCE, consts.ITEM_LIST, 12, 0b1110, consts.LAST_PRESS, consts.FLAG_SECRET,
                consts.ALL_ITEMS, ISSUED, 0,
            ),
        ),
        (
            "motion paused: rating without 优秀, chair puts item 2",
            frames.MotionOpen(
                9, 1, ROUND_NONCE, consts.RATING, 3, 0b11100, consts.FIRST_PRESS, consts.FLAG_PAUSED, 2, ISSUED, 0
            ),
        ),
        ("motion closed", frames.MotionClosed(7, 1, ROUND_NONCE, ISSUED + 61)),
        (
            "result: resolution passed",
            frames.ResultSummary(
                7, 1, consts.YES_NO_ABSTAIN, 300, 287, 2, consts.OUTCOME_PASSED, ((1, (270, 9, 6)),), 1041, AUDIT_HEAD
            ),
        ),
        (
            "result: 4 candidates, select 2, tie at the cut",
            frames.ResultSummary(
                8, 1, consts.ITEM_LIST, 300, 287, 0, consts.OUTCOME_TIE,
                (
                    (consts.OUTCOME_SELECTED, (250, 20, 17)),
                    (consts.OUTCOME_TIE, (200, 50, 37)),
                    (consts.OUTCOME_TIE, (200, 60, 27)),
                    (consts.OUTCOME_FAILED, (120, 150, 17)),
                ),
            ),
        ),
        (
            "result: rating of 3 projects",
            frames.ResultSummary(
                9, 1, consts.RATING, 300, 287, 1, consts.OUTCOME_NONE,
                ((consts.SATISFIED, (0, 200, 70, 16)), (consts.BASIC, (0, 120, 100, 66)), (consts.UNSATISFIED, (0, 40, 80, 166))),
            ),
        ),
    ]  # fmt: skip


def _motion_open_bytes(options: int, flags: int, focus: int = consts.ALL_ITEMS) -> bytes:
    """A yes/no/abstain motion-open frame with raw options, flags and focus bytes."""
    head = bytes([consts.VERSION, consts.MOTION_OPEN]) + (7).to_bytes(4, "big") + b"\x01" + ROUND_NONCE
    return head + bytes([consts.YES_NO_ABSTAIN, 1, options, consts.FIRST_PRESS, flags, focus]) + bytes(8)


def _invalid(signed_vote: bytes, signed_status: bytes) -> list[dict[str, str]]:
    def case(name: str, data: bytes, reason: int) -> dict[str, str]:
        return {"name": name, "hex": data.hex(), "reason": reasons.name(reason)}

    v = bytearray(signed_vote)  # "vote yes": offsets as in SPEC.md

    def patched(offset: int, value: bytes) -> bytes:
        out = bytearray(v)
        out[offset : offset + len(value)] = value
        return bytes(out)

    def patched_status(offset: int, value: bytes) -> bytes:
        out = bytearray(signed_status)
        out[offset : offset + len(value)] = value
        return bytes(out)

    return [
        case("empty", b"", reasons.MALFORMED),
        case("header only, one byte", bytes([consts.VERSION]), reasons.MALFORMED),
        case("version 1", b"\x01" + bytes(v[1:]), reasons.BAD_VERSION),
        case(
            "version 1 and too long: the version is checked first",
            b"\x01" + bytes(v[1:]) + bytes(200),
            reasons.BAD_VERSION,
        ),
        case(
            "unknown type and too long: the type is checked before the length",
            patched(1, b"\x05") + bytes(600),
            reasons.UNKNOWN_TYPE,
        ),
        case("unknown frame type 0x05", patched(1, b"\x05"), reasons.UNKNOWN_TYPE),
        case("uplink longer than 200 bytes", bytes(v) + b"\x00" * (201 - len(v)), reasons.TOO_LONG),
        case("signature cut short", bytes(v[:-1]), reasons.MALFORMED),
        case("extra byte before the signature", bytes(v[:-64]) + b"\x00" + bytes(v[-64:]), reasons.MALFORMED),
        case("upper-case device id", patched(3, b"K"), reasons.MALFORMED),
        case("counter 0", patched(10, b"\x00\x00\x00\x00"), reasons.MALFORMED),
        case("round 0", patched(18, b"\x00"), reasons.MALFORMED),
        case("unknown ballot kind", patched(27, b"\x04"), reasons.WRONG_BALLOT),
        case("yes/no/abstain with 2 items", patched(28, b"\x02"), reasons.WRONG_BALLOT),
        case("choice 4 on yes/no/abstain", patched(29, b"\x40"), reasons.BAD_CHOICE),
        case("nothing chosen", patched(29, b"\x00"), reasons.EMPTY_BALLOT),
        case("padding nibble not 0", patched(29, b"\x11"), reasons.MALFORMED),
        case("card uid of 11 bytes", patched(30, b"\x0b"), reasons.MALFORMED),
        case(
            "ack carrying a refusal code", bytes.fromhex("024100000005140400000000000000"), reasons.MALFORMED
        ),
        case("nack carrying an acceptance code", bytes.fromhex("02420000000500" + "04"), reasons.MALFORMED),
        case("status with battery 101", patched_status(21, b"\x65"), reasons.MALFORMED),
        case("status with battery 254", patched_status(21, b"\xfe"), reasons.MALFORMED),
        case(
            "motion open with focus equal to the item count (focus is 0-based)",
            _motion_open_bytes(options=0x0E, flags=0, focus=1),
            reasons.MALFORMED,
        ),
        case(
            "sitting with present > expected",
            bytes.fromhex("0281")
            + (42).to_bytes(4, "big")
            + b"\x01"
            + SITTING_NONCE
            + bytes.fromhex("000a000b00000000"),
            reasons.MALFORMED,
        ),
        case(
            "motion open with choice 0 in options",
            _motion_open_bytes(options=0x0F, flags=0),
            reasons.MALFORMED,
        ),
        case(
            "motion open with unknown flag bit",
            _motion_open_bytes(options=0x0E, flags=0x04),
            reasons.MALFORMED,
        ),
    ]


def _encode_invalid() -> list[dict[str, Any]]:
    def case(name: str, frame: frames.Frame, reason: int) -> dict[str, Any]:
        return {"name": name, "frame": codec.to_json(frame), "reason": reasons.name(reason)}

    sig = {"signature": bytes(64)}
    v = frames.Vote("kp-0001", 5, 7, 1, ROUND_NONCE, consts.YES_NO_ABSTAIN, (consts.YES,))
    return [
        case(
            "33 items", v.replace(ballot_kind=consts.ITEM_LIST, choices=(1,) * 33, **sig), reasons.MALFORMED
        ),
        case("grade 5", v.replace(ballot_kind=consts.RATING, choices=(5,), **sig), reasons.BAD_CHOICE),
        case("device id too long", v.replace(device_id="k" * 17, **sig), reasons.MALFORMED),
        case("counter beyond 32 bits", v.replace(counter=2**32, **sig), reasons.MALFORMED),
        case("uplink without signature", v, reasons.BAD_SIGNATURE),
        case(
            "seat label with a space",
            frames.Ack(1, reasons.ACCEPTED, consts.CHECK_IN, 42, 0, (), "A 12"),
            reasons.MALFORMED,
        ),
    ]


def build() -> dict[str, Any]:
    valid: list[dict[str, Any]] = []
    signed_vote = signed_status = b""
    for name, frame in _uplinks():
        k = _scalar("hallvote protocol v1 test nonce: " + name)
        region = codec.signed_region(frame)
        sealed = frame.replace(signature=sign_with_nonce(TEST_SECRET, region, int.from_bytes(k, "big")))
        data = codec.encode(sealed)
        if name == "vote yes":
            signed_vote = data
        if name == "status on mains power":
            signed_status = data
        valid.append({"name": name, "frame": codec.to_json(sealed), "hex": data.hex(), "nonce": k.hex()})
    for name, frame in _others():
        valid.append({"name": name, "frame": codec.to_json(frame), "hex": codec.encode(frame).hex()})
    return {
        "protocol": consts.VERSION,
        "about": "Golden cases of hallvote protocol v2; see SPEC.md. The test key is public: never use it on a keypad.",
        "test_key": {"secret": TEST_SECRET.hex(), "public_sec1": public_key_sec1(TEST_SECRET).hex()},
        "valid": valid,
        "invalid": _invalid(signed_vote, signed_status),
        "encode_invalid": _encode_invalid(),
        "topics": [
            {
                "hall": "county-hall",
                "device": "kp-0001",
                "channel": ch,
                "topic": f"hallvote/v2/county-hall/dev/kp-0001/{ch}",
            }
            for ch in ("up", "status", "presence", "down")
        ]
        + [
            {
                "hall": "county-hall",
                "device": "",
                "channel": ch,
                "topic": f"hallvote/v2/county-hall/hall/{ch}",
            }
            for ch in ("sitting", "motion", "result")
        ],
        "invalid_topics": [
            {"topic": "hallvote/v1/county-hall/dev/kp-0001/up", "reason": "BAD_VERSION"},
            {"topic": "hallvote/v3/county-hall/hall/result", "reason": "BAD_VERSION"},
            {"topic": "hallvote/v2/county-hall/dev/KP-0001/up", "reason": "MALFORMED"},
            {"topic": "hallvote/v2/county-hall/dev/kp-0001/votes", "reason": "MALFORMED"},
            {"topic": "hallvote/v2/county-hall/dev/+/up", "reason": "MALFORMED"},
            {"topic": "hallvote/v2/county-hall/hall/audit", "reason": "MALFORMED"},
        ],
        "presence": {"online": topics.PRESENCE_ONLINE.hex(), "offline": topics.PRESENCE_OFFLINE.hex()},
        "gateway": {"hall": decisions.HALL, "scenarios": decisions.scenarios()},
    }


SPEC = OUT.parent / "SPEC.md"
SPEC_START = "<!-- examples: generated by python -m hil.vectors --write -->"
SPEC_END = "<!-- end of generated examples -->"
SPEC_CASES = (
    "vote yes",
    "vote on 12 livelihood candidates",
    "check-in with card",
    "ack named vote",
    "ack secret vote (choice withheld)",
    "nack bad signature",
    "motion open: secret yes/no/abstain, first press, 60 s countdown",
    "result: resolution passed",
)


def annotate(frame: frames.Frame) -> list[tuple[str, str]]:
    """(hex, field) rows: the frame's bytes cut at field boundaries."""
    rows = [(f"{consts.VERSION:02x}", "version"), (f"{frame.TYPE:02x}", f"type ({frame.name})")]
    values = frame.as_dict()
    for name, kind in codec.LAYOUTS[frame.TYPE]:
        pieces: list[bytes] = []
        codec._put_field(pieces, name, kind, values[name], values)
        rows.append(
            (b"".join(pieces).hex(), f"{name} = {values[name]!r}" if kind not in ("nonce", "uid") else name)
        )
    if isinstance(frame, frames.Uplink):
        rows.append((frame.signature[:32].hex(), "signature r"))
        rows.append((frame.signature[32:].hex(), "signature s"))
    return rows


def spec_examples(vectors: dict[str, Any]) -> str:
    by_name = {case["name"]: case for case in vectors["valid"]}
    key = vectors["test_key"]
    parts = [
        SPEC_START,
        "",
        f"Test key secret `{key['secret']}`, public key (SEC1) `{key['public_sec1']}`.",
    ]
    for name in SPEC_CASES:
        case = by_name[name]
        frame = codec.from_json(case["frame"])
        parts += ["", f"**{name}** ({len(case['hex']) // 2} bytes)", "", "```"]
        parts += [
            f"{hexpart:<18} {label}" if len(hexpart) <= 18 else f"{hexpart}\n{'':<18} {label}"
            for hexpart, label in annotate(frame)
        ]
        parts += ["```", "", f"`{case['hex']}`"]
        if "nonce" in case:
            parts += ["", f"ECDSA nonce k = `{case['nonce']}`"]
    parts += ["", SPEC_END]
    return "\n".join(parts)


def render_spec(vectors: dict[str, Any]) -> str:
    text = SPEC.read_text(encoding="utf-8")
    if SPEC_START in text:
        head, rest = text.split(SPEC_START, 1)
        tail = rest.split(SPEC_END, 1)[1]
    else:
        head, tail = text.split("EXAMPLES", 1)
    return head + spec_examples(vectors) + tail


def render(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate protocol/vectors.json")
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    args = parser.parse_args(argv)
    vectors = build()
    text = render(vectors)
    if args.write:
        OUT.write_text(text, encoding="utf-8")
        SPEC.write_text(render_spec(vectors), encoding="utf-8")
        print(f"wrote {OUT} and the examples of {SPEC}")
        return 0
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        same_spec = SPEC.read_text(encoding="utf-8") == render_spec(vectors)
        print("vectors.json is up to date" if same else "vectors.json differs from the generator")
        print(
            "SPEC.md examples are up to date" if same_spec else "SPEC.md examples differ from the generator"
        )
        return 0 if same and same_spec else 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
