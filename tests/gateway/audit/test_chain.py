"""The pure hash chain: canonical encoding, event hashes, and verify_chain under every single tamper."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.audit.chain import (
    DOMAIN,
    GENESIS,
    GENESIS_HASH,
    Anchor,
    Head,
    Record,
    canonical_json,
    canonical_value,
    event_hash,
    event_hash_json,
    format_time,
    parse_anchor,
    parse_time,
    seal,
    seal_many,
    verify_chain,
)
from gateway.audit.chain import _canonical as general_canonical
from gateway.audit.errors import CanonicalError, ChainError, Reason

T0 = datetime(2024, 3, 5, 1, 2, 3, 4, tzinfo=UTC)

# ----------------------------------------------------------------------------- canonical JSON


def test_canonical_json_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": [1, 2], "c": "县人大"}}) == '{"a":{"c":"县人大","d":[1,2]},"b":1}'
    )


def test_canonical_json_normalises_times_bytes_tuples() -> None:
    cst = timezone(timedelta(hours=8))
    payload = {
        "at": datetime(2024, 3, 5, 9, 2, 3, tzinfo=cst),
        "key": b"\x00\xab",
        "t": (1, 2),
        "n": None,
        "b": True,
    }
    assert (
        canonical_json(payload)
        == '{"at":"2024-03-05T01:02:03.000000Z","b":true,"key":"00ab","n":null,"t":[1,2]}'
    )


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        float("nan"),
        datetime(2024, 1, 1),  # naive
        {1: "x"},  # non-string key
        {"s": {1, 2}},  # set
        "\ud800",  # lone surrogate
        {"o": object()},
    ],
)
def test_canonical_json_refuses_values_without_an_exact_form(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"v": value})


def test_canonical_json_payload_must_be_a_mapping() -> None:
    with pytest.raises(CanonicalError):
        canonical_json([1, 2])  # type: ignore[arg-type]


json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
payloads = st.dictionaries(st.text(max_size=6), json_values | st.binary(max_size=4), max_size=4)


@given(payloads)
def test_canonical_json_is_a_fixed_point(payload: dict[str, object]) -> None:
    text = canonical_json(payload)
    assert canonical_json(json.loads(text)) == text
    assert " " not in text.replace(" ", "") and "\n" not in text.replace("\\n", "")


@given(payloads | st.builds(dict, st.just([("t", T0), ("k", (1, "甲"))])))
def test_canonical_value_fast_path_is_the_general_one(payload: dict[str, object]) -> None:
    # Plain JSON data takes a path without per-element paths; the result must be the general one's.
    assert canonical_value(payload) == general_canonical(payload, "payload")
    assert json.dumps(canonical_value(payload)) == json.dumps(general_canonical(payload, "payload"))


def test_canonical_value_errors_still_name_the_path() -> None:
    with pytest.raises(CanonicalError, match=r"payload\.a\[1\]: floats"):
        canonical_value({"a": [1, 2.5]})
    with pytest.raises(CanonicalError, match=r"payload\.s: not encodable"):
        canonical_value({"s": "\ud800"})


@given(st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.timezones()))
def test_time_format_round_trips_to_utc(at: datetime) -> None:
    assume(at.utcoffset() is not None)
    text = format_time(at)
    assert text.endswith("Z") and len(text) == 27
    assert parse_time(text) == at.astimezone(UTC)


@pytest.mark.parametrize(
    "text", ["2024-03-05T01:02:03Z", "2024-03-05T01:02:03.000004+00:00", "2024-03-05 01:02:03.000004Z"]
)
def test_parse_time_accepts_only_the_canonical_form(text: str) -> None:
    with pytest.raises(CanonicalError):
        parse_time(text)


# ----------------------------------------------------------------------------- event hashes


def _reference_hash(prev: str, seq: int, at: str, kind: str, actor: str, payload: str) -> str:
    h = hashlib.sha256(b"hallvote/audit/v1")
    for part in (prev, str(seq), at, kind, actor, payload):
        b = part.encode("utf-8")
        h.update(len(b).to_bytes(8, "big") + b)
    return h.hexdigest()


def test_event_hash_matches_the_documented_construction_and_a_pinned_vector() -> None:
    payload = {"sitting": 1, "body": "县人大", "title": "第一次会议"}
    got = event_hash(GENESIS_HASH, 1, T0, "sitting.opened", "chair", payload)
    assert DOMAIN == b"hallvote/audit/v1"
    assert got == _reference_hash(
        GENESIS_HASH, 1, "2024-03-05T01:02:03.000004Z", "sitting.opened", "chair", canonical_json(payload)
    )
    # Pinned: a change to the encoding must be a deliberate, versioned change.
    assert got == "b1aa0c23ef966706bb18bbe5a709d24aae948c22c1c71991c0294de16b6a941c"


def test_event_hash_is_unambiguous_across_field_boundaries() -> None:
    a = event_hash_json(GENESIS_HASH, 1, T0, "ab", "c", "{}")
    b = event_hash_json(GENESIS_HASH, 1, T0, "a", "bc", "{}")
    c = event_hash_json(GENESIS_HASH, 11, T0, "a", "c", "{}")
    d = event_hash_json(GENESIS_HASH, 1, T0, "a", "c", "{}")
    assert len({a, b, c, d}) == 4


@pytest.mark.parametrize(
    ("prev", "seq"),
    [
        ("0" * 63, 1),
        ("G" * 64, 1),
        ("A" * 64, 1),
        (GENESIS_HASH, 0),
        (GENESIS_HASH, True),
        (GENESIS_HASH, -3),
    ],
)
def test_event_hash_refuses_bad_prev_hash_or_seq(prev: str, seq: int) -> None:
    with pytest.raises(CanonicalError):
        event_hash_json(prev, seq, T0, "k.k", "a", "{}")


def test_seal_links_records_and_normalises_time() -> None:
    cst = timezone(timedelta(hours=8))
    r1 = seal(GENESIS, T0.astimezone(cst), "k.one", "a", {"x": 1})
    r2 = seal(r1.head, T0, "k.two", "a", {})
    assert (r1.seq, r1.prev_hash, r1.at.tzinfo) == (1, GENESIS_HASH, UTC)
    assert (r2.seq, r2.prev_hash) == (2, r1.hash)
    assert r1.content_hash() == r1.hash and r2.data() == {}
    with pytest.raises(CanonicalError):
        seal(GENESIS, datetime(2024, 1, 1), "k.one", "a", {})


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["k.one", "vote.recorded_named"]), st.text(min_size=1, max_size=5), payloads
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 10**6),
)
def test_seal_many_is_seal_in_a_loop_at_one_time(
    entries: list[tuple[str, str, dict[str, object]]], seq: int
) -> None:
    prev = GENESIS if seq == 0 else Head(seq, hashlib.sha256(str(seq).encode()).hexdigest())
    at = T0.astimezone(timezone(timedelta(hours=8)))
    texts = [(kind, actor, canonical_json(p)) for kind, actor, p in entries]
    expected, head = [], prev
    for kind, actor, text in texts:
        rec = seal(head, at, kind, actor, json.loads(text), text=text)
        expected.append(rec)
        head = rec.head
    assert seal_many(prev, at, texts) == expected
    assert all(r.content_hash() == r.hash for r in expected)


def test_seal_many_refuses_what_seal_refuses() -> None:
    with pytest.raises(CanonicalError):
        seal_many(GENESIS, datetime(2024, 1, 1), [("k.one", "a", "{}")])  # naive time
    with pytest.raises(CanonicalError):
        seal_many(Head(1, "A" * 64), T0, [("k.one", "a", "{}")])  # not a hash
    with pytest.raises(CanonicalError, match="actor"):
        seal_many(GENESIS, T0, [("k.one", "\ud800", "{}")])  # lone surrogate
    assert seal_many(GENESIS, T0, []) == []


# ----------------------------------------------------------------------------- anchors


def test_parse_anchor_forms() -> None:
    h = "ab" * 32
    assert parse_anchor(f"12:{h}") == Anchor(12, h)
    assert parse_anchor(h.upper()) == Anchor(None, h)
    assert parse_anchor("7") == Anchor(7, None)
    assert str(Anchor(12, h)) == f"12:{h}"
    for bad in ("", "12:", "x:" + h, "abc", "-1"):
        with pytest.raises(ValueError):
            parse_anchor(bad)


# ----------------------------------------------------------------------------- verify_chain

kinds = st.sampled_from(["sitting.opened", "checkin.recorded", "round.opened", "api.call"])
actors = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6)
small_payloads = st.dictionaries(st.sampled_from(["a", "b", "member", "seat"]), json_scalars, max_size=3)


@st.composite
def chains(draw: st.DrawFn, min_size: int = 1, max_size: int = 12) -> list[Record]:
    n = draw(st.integers(min_size, max_size))
    prev, at, out = GENESIS, T0, []
    for _ in range(n):
        at = at + timedelta(microseconds=draw(st.integers(0, 10**8)))
        rec = seal(prev, at, draw(kinds), draw(actors), draw(small_payloads))
        out.append(rec)
        prev = rec.head
    return out


def _flip(h: str) -> str:
    return ("1" if h[0] == "0" else "0") + h[1:]


def _tamper_payload(rec: Record) -> str:
    data = rec.data()
    data["tampered"] = True
    return canonical_json(data)


@given(chains())
def test_an_untouched_chain_verifies(records: list[Record]) -> None:
    report = verify_chain(records)
    assert report.ok and report.first is None
    assert report.count == len(records) and report.head == records[-1].head
    report.raise_if_bad()
    anchored = verify_chain(records, anchor=Anchor(records[-1].seq, records[-1].hash))
    assert anchored.ok


def test_an_empty_chain_verifies_and_its_head_is_genesis() -> None:
    report = verify_chain([])
    assert report.ok and report.count == 0 and report.head == GENESIS


@given(chains(), st.data())
def test_any_edited_field_is_named_edited(records: list[Record], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(records) - 1))
    rec = records[k]
    field = data.draw(st.sampled_from(["at", "kind", "actor", "payload", "prev_hash", "hash"]))
    new: object = {
        "at": rec.at + timedelta(microseconds=data.draw(st.sampled_from([-1, 1, 10**6]))),
        "kind": rec.kind + "x",
        "actor": rec.actor + "x",
        "payload": _tamper_payload(rec),
        "prev_hash": _flip(rec.prev_hash),
        "hash": _flip(rec.hash),
    }[field]
    records[k] = dataclasses.replace(rec, **{field: new})
    report = verify_chain(records)
    assert report.first is not None
    assert (report.first.seq, report.first.reason, report.first.kind) == (
        rec.seq,
        Reason.EDITED,
        records[k].kind,
    )
    with pytest.raises(ChainError) as err:
        report.raise_if_bad()
    assert err.value.seq == rec.seq and err.value.code is Reason.EDITED


@given(chains(min_size=2), st.data())
def test_a_deleted_record_is_a_gap_at_the_next_one(records: list[Record], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(records) - 2))
    deleted = records.pop(k)
    report = verify_chain(records)
    assert [(p.seq, p.reason) for p in report.problems] == [(deleted.seq + 1, Reason.GAP)]


@given(chains(min_size=3), st.data())
def test_several_deleted_records_are_one_gap(records: list[Record], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(records) - 3))
    n = data.draw(st.integers(1, len(records) - 1 - k))
    del records[k : k + n]
    report = verify_chain(records)
    assert [(p.seq, p.reason) for p in report.problems] == [(k + n + 1, Reason.GAP)]
    assert f"seq {k + 1}" in report.problems[0].detail


@given(chains())
def test_a_deleted_tail_needs_an_anchor(records: list[Record]) -> None:
    last = records.pop()
    assert verify_chain(records).ok  # undetectable without an anchor
    by_seq = verify_chain(records, anchor=Anchor(last.seq, last.hash))
    assert [(p.seq, p.reason) for p in by_seq.problems] == [(last.seq, Reason.TRUNCATED_TAIL)]
    by_count = verify_chain(records, anchor=Anchor(last.seq))
    assert [(p.seq, p.reason) for p in by_count.problems] == [(last.seq, Reason.TRUNCATED_TAIL)]
    by_hash = verify_chain(records, anchor=Anchor(None, last.hash))
    assert [(p.seq, p.reason) for p in by_hash.problems] == [(None, Reason.ANCHOR_MISMATCH)]


@given(chains(min_size=2), st.data())
def test_swapped_contents_are_edited_at_the_first(records: list[Record], data: st.DataObject) -> None:
    # What swapping two rows' seq values (or all their other columns) in the table looks like.
    i, j = sorted(data.draw(st.lists(st.integers(0, len(records) - 1), min_size=2, max_size=2, unique=True)))
    a, b = records[i], records[j]
    records[i] = dataclasses.replace(b, seq=a.seq)
    records[j] = dataclasses.replace(a, seq=b.seq)
    report = verify_chain(records)
    assert report.first is not None and (report.first.seq, report.first.reason) == (a.seq, Reason.EDITED)
    assert (b.seq, Reason.EDITED) in [(p.seq, p.reason) for p in report.problems]


@given(chains(min_size=2), st.data())
def test_reordered_records_are_named_reordered(records: list[Record], data: st.DataObject) -> None:
    i, j = sorted(data.draw(st.lists(st.integers(0, len(records) - 1), min_size=2, max_size=2, unique=True)))
    records[i], records[j] = records[j], records[i]
    report = verify_chain(records)
    assert report.first is not None
    # The first record out of place is the later one, moved up.
    assert (report.first.seq, report.first.reason) == (records[i].seq, Reason.REORDERED)
    assert (records[j].seq, Reason.REORDERED) in [(p.seq, p.reason) for p in report.problems]


@given(chains(), st.data())
def test_an_edited_seq_is_named_at_its_position(records: list[Record], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(records) - 1))
    new_seq = data.draw(st.integers(1, len(records) + 5).filter(lambda s: s != records[k].seq))
    records[k] = dataclasses.replace(records[k], seq=new_seq)
    report = verify_chain(records)
    assert report.first is not None and report.first.seq == new_seq
    assert report.first.reason in (Reason.GAP, Reason.REORDERED, Reason.EDITED)


@given(chains(), st.data())
def test_a_rewritten_record_breaks_the_next_link(records: list[Record], data: st.DataObject) -> None:
    # The forger edits a record and recomputes its hash: the next record still points at the old one.
    k = data.draw(st.integers(0, len(records) - 1))
    old = records[k]
    prev = GENESIS if k == 0 else records[k - 1].head
    records[k] = seal(prev, old.at, old.kind, old.actor, json.loads(_tamper_payload(old)))
    report = verify_chain(records)
    if k < len(records) - 1:
        assert [(p.seq, p.reason) for p in report.problems] == [(old.seq + 1, Reason.BROKEN_LINK)]
        assert f"seq {old.seq} was replaced" in report.problems[0].detail
    else:
        assert report.ok  # the last record: only an anchor tells
        anchored = verify_chain(records, anchor=Anchor(old.seq, old.hash))
        assert [(p.seq, p.reason) for p in anchored.problems] == [(old.seq, Reason.ANCHOR_MISMATCH)]


@given(chains(min_size=2), st.data())
def test_a_fully_rewritten_suffix_needs_an_anchor(records: list[Record], data: st.DataObject) -> None:
    head = records[-1]
    k = data.draw(st.integers(0, len(records) - 1))
    prev = GENESIS if k == 0 else records[k - 1].head
    for i in range(k, len(records)):
        r = records[i]
        records[i] = seal(prev, r.at, r.kind, r.actor + "!", r.data())
        prev = records[i].head
    assert verify_chain(records).ok
    report = verify_chain(records, anchor=Anchor(head.seq, head.hash))
    assert [(p.seq, p.reason) for p in report.problems] == [(head.seq, Reason.ANCHOR_MISMATCH)]


@given(chains(min_size=3))
def test_an_older_anchor_still_verifies_a_longer_log(records: list[Record]) -> None:
    mid = records[len(records) // 2]
    assert verify_chain(records, anchor=Anchor(mid.seq, mid.hash)).ok
    assert verify_chain(records, anchor=Anchor(None, mid.hash)).ok


def test_time_going_backwards_is_reordered() -> None:
    r1 = seal(GENESIS, T0, "k.a", "x", {})
    r2 = seal(r1.head, T0 - timedelta(microseconds=1), "k.b", "x", {})
    report = verify_chain([r1, r2])
    assert [(p.seq, p.reason) for p in report.problems] == [(2, Reason.REORDERED)]


def test_first_record_must_link_to_genesis() -> None:
    fake_prev = "ab" * 32
    r = Record(1, T0, "k.a", "x", "{}", fake_prev, event_hash_json(fake_prev, 1, T0, "k.a", "x", "{}"))
    report = verify_chain([r])
    assert [(p.seq, p.reason) for p in report.problems] == [(1, Reason.BROKEN_LINK)]


def test_a_missing_first_record_is_a_gap() -> None:
    r1 = seal(GENESIS, T0, "k.a", "x", {})
    r2 = seal(r1.head, T0, "k.b", "x", {})
    assert [(p.seq, p.reason) for p in verify_chain([r2]).problems] == [(2, Reason.GAP)]


def test_a_repeated_seq_is_reordered() -> None:
    r1 = seal(GENESIS, T0, "k.a", "x", {})
    report = verify_chain([r1, r1])
    assert [(p.seq, p.reason) for p in report.problems] == [(1, Reason.REORDERED)]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"hash": "not-hex"}, "hash"),
        ({"prev_hash": "A" * 64}, "prev_hash"),
        ({"at": datetime(2024, 1, 1)}, "aware"),
        ({"payload": None}, "text"),
        ({"seq": 0}, "positive"),
    ],
)
def test_malformed_columns_are_named(change: dict[str, object], why: str) -> None:
    r1 = seal(GENESIS, T0, "k.a", "x", {})
    r2 = seal(r1.head, T0, "k.b", "x", {})
    report = verify_chain([r1, dataclasses.replace(r2, **change)])  # type: ignore[arg-type]
    assert report.first is not None and report.first.reason is Reason.MALFORMED
    assert why in report.first.detail


def test_a_non_canonical_payload_with_a_matching_hash_is_malformed() -> None:
    text = '{"b":1, "a":2}'
    r = Record(1, T0, "k.a", "x", text, GENESIS_HASH, event_hash_json(GENESIS_HASH, 1, T0, "k.a", "x", text))
    report = verify_chain([r])
    assert [(p.seq, p.reason) for p in report.problems] == [(1, Reason.MALFORMED)]


def test_problems_are_capped() -> None:
    prev, recs = GENESIS, []
    for _ in range(30):
        recs.append(seal(prev, T0, "k.a", "x", {}))
        prev = recs[-1].head
    bad = [dataclasses.replace(r, actor="y") for r in recs]
    report = verify_chain(bad, max_problems=5)
    assert len(report.problems) == 5 and report.more and report.count == 30
