"""The hash chain: canonical encoding, event hashes, verification.  Pure, no I/O.

Rules:
- a record is ``(seq, at, kind, actor, payload, prev_hash, hash)``; the
  first record has seq 1 and prev_hash :data:`GENESIS_HASH` (64 zeros);
  every later record has seq = previous + 1, prev_hash = previous hash,
  and a time no earlier than the previous one;
- ``payload`` is stored as canonical JSON text (sorted keys, no
  whitespace, UTF-8, non-ASCII kept as is); datetimes are ISO-8601 UTC
  with microseconds and ``Z``, bytes are lowercase hex; floats, NaN and
  naive datetimes have no canonical form and are refused;
- ``hash = SHA-256(DOMAIN || len(f) || f ...)`` over prev_hash, seq, at,
  kind, actor, payload, each prefixed with its 8-byte big-endian length,
  so no two different records hash the same input bytes;
- :func:`verify_chain` reads records in the order given and reports, for
  each bad record, the first failing check among: malformed columns,
  seq order (REORDERED / GAP), own hash (EDITED), link (BROKEN_LINK), time
  order (REORDERED), canonical payload (MALFORMED); after a problem it
  re-synchronises on the bad record, so one deletion is one problem;
- deleting records from the end, or rewriting the log from some point on
  with every hash recomputed, leaves a valid shorter or different chain:
  only an :class:`Anchor` (the head printed at the end of a sitting, e.g.
  in the minutes) detects it (TRUNCATED_TAIL, ANCHOR_MISMATCH).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .errors import CanonicalError, ChainError, Reason

__all__ = [
    "DOMAIN",
    "GENESIS",
    "GENESIS_HASH",
    "Anchor",
    "Head",
    "Problem",
    "Record",
    "VerifyReport",
    "canonical_bytes",
    "canonical_json",
    "canonical_value",
    "dumps_canonical",
    "event_hash",
    "event_hash_json",
    "format_time",
    "is_hash",
    "parse_anchor",
    "parse_time",
    "seal",
    "seal_many",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
#: Domain separation: a hallvote audit hash can never be confused with another SHA-256 use.
DOMAIN = b"hallvote/audit/v1"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z")


def is_hash(value: object) -> bool:
    """True for a 64-character lowercase hex string."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


# --------------------------------------------------------------------------- encoding


def format_time(at: datetime) -> str:
    """``2024-03-05T01:02:03.000004Z``: always UTC, always six fractional digits."""
    if not isinstance(at, datetime):
        raise CanonicalError(f"expected a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise CanonicalError(f"naive datetime {at.isoformat()} has no canonical UTC form")
    u = at.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
        u.year,
        u.month,
        u.day,
        u.hour,
        u.minute,
        u.second,
        u.microsecond,
    )


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time` (only that exact form is accepted)."""
    m = _TIME.fullmatch(text)
    if m is None:
        raise CanonicalError(f"not a canonical UTC time: {text!r}")
    y, mo, d, h, mi, s, us = (int(g) for g in m.groups())
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


class _Unusual(Exception):
    """Raised by :func:`_plain` for anything but exact dict/list/tuple/str/int/bool/None."""


def _plain(value: Any) -> Any:
    """:func:`canonical_value` for data made only of the exact JSON types (the audit trail's own
    payloads): the same result without building a path per element; anything else raises _Unusual."""
    t = type(value)
    if t is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Unusual from None
        return value
    if t is int or t is bool or value is None:
        return value
    if t is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise _Unusual
            out[k] = _plain(v)
        return out
    if t is list or t is tuple:
        return [_plain(v) for v in value]
    raise _Unusual


def canonical_value(value: object, _path: str = "payload") -> Any:
    """``value`` as plain JSON data (dict/list/str/int/bool/None), or :class:`CanonicalError`."""
    try:
        return _plain(value)
    except _Unusual:
        return _canonical(value, _path)  # the general case, and the error with its path


def _canonical(value: object, _path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            _check_text(value, _path)
        return value
    if isinstance(value, int):
        return int(value)  # int subclasses (IntEnum) become plain ints
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalError(f"{_path}: key {k!r} is not a string")
            _check_text(k, f"{_path} key")
            out[k] = _canonical(v, f"{_path}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{_path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float):
        raise CanonicalError(f"{_path}: floats have no exact canonical form ({value!r}); use int or str")
    raise CanonicalError(f"{_path}: {type(value).__name__} has no canonical JSON form")


def _check_text(s: str, path: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise CanonicalError(f"{path}: not encodable as UTF-8 ({exc.reason})") from None


def canonical_json(payload: Mapping[str, object]) -> str:
    """Sorted keys, no whitespace, non-ASCII kept, datetimes/bytes normalised."""
    if not isinstance(payload, Mapping):
        raise CanonicalError(f"payload must be a mapping, got {type(payload).__name__}")
    return dumps_canonical(canonical_value(payload))


def dumps_canonical(data: Mapping[str, Any]) -> str:
    """The text of data that is already canonical (what :func:`canonical_value` returned): no second pass."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(payload: Mapping[str, object]) -> bytes:
    return canonical_json(payload).encode("utf-8")


# --------------------------------------------------------------------------- hashing


def event_hash_json(prev_hash: str, seq: int, at: datetime, kind: str, actor: str, payload_json: str) -> str:
    """The record hash over the payload's stored canonical JSON text (what ``verify`` recomputes)."""
    if not is_hash(prev_hash):
        raise CanonicalError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise CanonicalError(f"seq must be a positive int, got {seq!r}")
    for name, s in (("kind", kind), ("actor", actor), ("payload", payload_json)):
        if not isinstance(s, str):
            raise CanonicalError(f"{name} must be a str, got {type(s).__name__}")
        _check_text(s, name)
    return _digest(prev_hash, seq, format_time(at), kind, actor, payload_json)


def _digest(prev_hash: str, seq: int, at_text: str, kind: str, actor: str, payload_json: str) -> str:
    """The hash itself, over values already checked (UnicodeEncodeError for a lone surrogate)."""
    h = hashlib.sha256(DOMAIN)
    for part in (
        prev_hash.encode("ascii"),
        str(seq).encode("ascii"),
        at_text.encode("ascii"),
        kind.encode("utf-8"),
        actor.encode("utf-8"),
        payload_json.encode("utf-8"),
    ):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def event_hash(
    prev_hash: str, seq: int, at: datetime, kind: str, actor: str, payload: Mapping[str, object]
) -> str:
    """SHA-256 hex of one event, chained to ``prev_hash`` (genesis: :data:`GENESIS_HASH`)."""
    return event_hash_json(prev_hash, seq, at, kind, actor, canonical_json(payload))


# --------------------------------------------------------------------------- records


class Head(NamedTuple):
    """The last record's position: ``(seq, hash)``; an empty log is :data:`GENESIS`."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


GENESIS = Head(0, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class Record:
    """One stored audit event; ``payload`` is the canonical JSON text as stored."""

    seq: int
    at: datetime
    kind: str
    actor: str
    payload: str
    prev_hash: str
    hash: str

    @property
    def head(self) -> Head:
        return Head(self.seq, self.hash)

    def data(self) -> dict[str, Any]:
        """The payload parsed back into JSON data."""
        obj = json.loads(self.payload)
        if not isinstance(obj, dict):
            raise CanonicalError("payload is not a JSON object")
        return obj

    def content_hash(self) -> str:
        """The hash this record's content implies (compare with :attr:`hash`)."""
        return event_hash_json(self.prev_hash, self.seq, self.at, self.kind, self.actor, self.payload)


def seal(
    prev: Head, at: datetime, kind: str, actor: str, payload: Mapping[str, object], *, text: str | None = None
) -> Record:
    """The record that follows ``prev`` (use :data:`GENESIS` for the first).

    ``text``: ``canonical_json(payload)`` when the caller has it already (the log's validation makes it).
    """
    if text is None:
        text = canonical_json(payload)
    seq = prev.seq + 1
    at = parse_time(format_time(at))  # normalise to UTC, refuse naive
    return Record(
        seq, at, kind, actor, text, prev.hash, event_hash_json(prev.hash, seq, at, kind, actor, text)
    )


def seal_many(prev: Head, at: datetime, entries: Iterable[tuple[str, str, str]]) -> list[Record]:
    """The records that follow ``prev``, one per ``(kind, actor, canonical payload text)``, all at ``at``.

    The same records as :func:`seal` in a loop with one time, for a batch: the time is normalised
    and formatted once, and each hash is taken over the checked values directly.
    """
    if not is_hash(prev.hash):
        raise CanonicalError(f"prev_hash must be 64 lowercase hex characters, got {prev.hash!r}")
    at_text = format_time(at)
    at = parse_time(at_text)  # normalise to UTC, refuse naive
    records: list[Record] = []
    seq, prev_hash = prev.seq, prev.hash
    for kind, actor, text in entries:
        seq += 1
        try:
            if not (isinstance(kind, str) and isinstance(actor, str) and isinstance(text, str)):
                raise TypeError
            digest = _digest(prev_hash, seq, at_text, kind, actor, text)
        except (TypeError, UnicodeEncodeError):
            digest = event_hash_json(prev_hash, seq, at, kind, actor, text)  # raises, naming the field
        records.append(Record(seq, at, kind, actor, text, prev_hash, digest))
        prev_hash = digest
    return records


# --------------------------------------------------------------------------- anchors


@dataclass(frozen=True, slots=True)
class Anchor:
    """What the log is expected to contain, published out of band (e.g. in the minutes).

    ``seq``: the log has at least this many records; ``hash``: the record
    with that hash is in the log (at ``seq``, when both are given).
    """

    seq: int | None = None
    hash: str | None = None

    def __post_init__(self) -> None:
        if self.seq is None and self.hash is None:
            raise ValueError("an anchor needs a seq, a hash or both")
        if self.seq is not None and (
            isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0
        ):
            raise ValueError(f"anchor seq must be a non-negative int, got {self.seq!r}")
        if self.hash is not None and not is_hash(self.hash):
            raise ValueError(f"anchor hash must be 64 lowercase hex characters, got {self.hash!r}")

    def __str__(self) -> str:
        if self.hash is None:
            return f"{self.seq}"
        return self.hash if self.seq is None else f"{self.seq}:{self.hash}"


def parse_anchor(text: str) -> Anchor:
    """``SEQ:HASH`` (as ``verify`` prints the head), a bare ``HASH``, or a bare ``SEQ``."""
    t = text.strip().lower()
    try:
        if ":" in t:
            s, h = t.split(":", 1)
            return Anchor(int(s), h)
        if t.isdigit():
            return Anchor(int(t), None)
        return Anchor(None, t)
    except ValueError as exc:
        raise ValueError(f"not an anchor (expected SEQ:HASH, HASH or SEQ): {text!r}: {exc}") from None


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad record: where (``seq`` as stored; None when there is no position), why, details."""

    seq: int | None
    reason: Reason
    detail: str
    kind: str | None = None

    def error(self) -> ChainError:
        return ChainError(self.reason, self.detail, seq=self.seq, kind=self.kind)

    def __str__(self) -> str:
        return str(self.error())


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify_chain`; ``first`` is the first bad record."""

    count: int
    head: Head
    problems: tuple[Problem, ...] = ()
    anchor: Anchor | None = None
    #: True when more than ``max_problems`` were found and the rest not listed.
    more: bool = False
    kinds: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def raise_if_bad(self) -> None:
        """Raise the first problem as a :class:`ChainError`."""
        if self.problems:
            raise self.problems[0].error()


def _structure(rec: Record) -> str | None:
    """Why the record's columns are not something any writer produces, or None."""
    if isinstance(rec.seq, bool) or not isinstance(rec.seq, int) or rec.seq < 1:
        return f"seq {rec.seq!r} is not a positive integer"
    if not isinstance(rec.at, datetime) or rec.at.tzinfo is None or rec.at.utcoffset() is None:
        return f"time {rec.at!r} is not an aware datetime"
    if not isinstance(rec.kind, str) or not isinstance(rec.actor, str) or not isinstance(rec.payload, str):
        return "kind, actor and payload must be text"
    if not is_hash(rec.hash):
        return f"hash {rec.hash!r} is not 64 lowercase hex characters"
    if not is_hash(rec.prev_hash):
        return f"prev_hash {rec.prev_hash!r} is not 64 lowercase hex characters"
    return None


def _canonical_payload(rec: Record) -> str | None:
    try:
        obj = json.loads(rec.payload)
    except ValueError:
        return "payload is not JSON"
    if not isinstance(obj, dict):
        return "payload is not a JSON object"
    try:
        again = canonical_json(obj)
    except CanonicalError as exc:
        return f"payload has no canonical form: {exc.detail}"
    if again != rec.payload:
        return "payload is not in canonical form"
    return None


def _short(h: str) -> str:
    return h[:12] + "…" if isinstance(h, str) and len(h) > 12 else repr(h)


class _Gap:
    """A GAP problem still open to reinterpretation as a reorder."""

    __slots__ = ("hi", "index", "lo")

    def __init__(self, index: int, lo: int, hi: int) -> None:
        self.index, self.lo, self.hi = index, lo, hi


def verify_chain(
    records: Iterable[Record], *, anchor: Anchor | None = None, max_problems: int = 100
) -> VerifyReport:
    """Check ``records`` (in the order given, normally seq order) and report every bad one.

    One pass, constant memory apart from the problems found.  A record is
    judged against the last record accepted as a base: after a GAP or a
    broken link the chain re-synchronises on the bad record, so a deletion
    is one problem; a record whose seq goes backwards leaves the base where
    it was (and turns an earlier GAP covering its seq into REORDERED).
    """
    problems: list[Problem] = []
    gaps: list[_Gap] = []
    kinds: dict[str, int] = {}
    base: Record | None = None
    last: Record | None = None
    count = 0
    more = False
    anchor_hit: Record | None = None
    anchor_at_seq: Record | None = None

    for rec in records:
        count += 1
        last = rec
        if isinstance(rec.kind, str):
            kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
        if anchor is not None:
            if anchor.hash is not None and rec.hash == anchor.hash:
                anchor_hit = rec
            if anchor.seq is not None and rec.seq == anchor.seq:
                anchor_at_seq = rec
        if more:
            continue

        problem: Problem | None = None
        keep_base = False
        kind = rec.kind if isinstance(rec.kind, str) else None

        bad = _structure(rec)
        if bad is not None:
            problem = Problem(rec.seq if isinstance(rec.seq, int) else None, Reason.MALFORMED, bad, kind)
        else:
            expected = base.seq + 1 if base is not None else 1
            if base is not None and rec.seq <= base.seq:
                keep_base = True
                what = "repeats" if rec.seq == base.seq else "comes after"
                problem = Problem(rec.seq, Reason.REORDERED, f"seq {rec.seq} {what} seq {base.seq}", kind)
                for g in gaps:
                    if g.lo <= rec.seq <= g.hi:
                        old = problems[g.index]
                        problems[g.index] = Problem(
                            old.seq,
                            Reason.REORDERED,
                            f"seq {old.seq} comes before seq {rec.seq}: records out of order",
                            old.kind,
                        )
                        break
            elif rec.seq != expected:
                lo, hi = expected, rec.seq - 1
                missing = f"seq {lo}" if lo == hi else f"seqs {lo}..{hi}"
                gaps.append(_Gap(len(problems), lo, hi))
                problem = Problem(
                    rec.seq, Reason.GAP, f"expected seq {expected}, found {rec.seq}: {missing} missing", kind
                )
            elif rec.content_hash() != rec.hash:
                problem = Problem(
                    rec.seq,
                    Reason.EDITED,
                    "hash does not match the record's content (time, kind, actor, payload or prev_hash changed)",
                    kind,
                )
            elif rec.prev_hash != (base.hash if base is not None else GENESIS_HASH):
                if base is None:
                    detail = f"the first record must link to genesis, links to {_short(rec.prev_hash)}"
                else:
                    detail = (
                        f"prev_hash {_short(rec.prev_hash)} is not the hash of seq {base.seq} "
                        f"({_short(base.hash)}): seq {base.seq} was replaced or rewritten"
                    )
                problem = Problem(rec.seq, Reason.BROKEN_LINK, detail, kind)
            elif base is not None and rec.at < base.at:
                problem = Problem(
                    rec.seq,
                    Reason.REORDERED,
                    f"time {format_time(rec.at)} is before seq {base.seq}'s {format_time(base.at)}",
                    kind,
                )
            else:
                why = _canonical_payload(rec)
                if why is not None:
                    problem = Problem(rec.seq, Reason.MALFORMED, why, kind)

        if problem is not None:
            problems.append(problem)
            if len(problems) >= max_problems:
                more = True
        if not keep_base and bad is None:
            base = rec

    head = last.head if last is not None and _structure(last) is None else GENESIS
    if anchor is not None and not more:
        p = _check_anchor(anchor, last, anchor_hit, anchor_at_seq)
        if p is not None:
            problems.append(p)
    return VerifyReport(count, head, tuple(problems), anchor, more, kinds)


def _check_anchor(
    anchor: Anchor, last: Record | None, hit: Record | None, at_seq: Record | None
) -> Problem | None:
    end = last.seq if last is not None and isinstance(last.seq, int) else 0
    if anchor.seq is not None and (end < anchor.seq):
        lo = end + 1
        missing = f"seq {lo}" if lo == anchor.seq else f"seqs {lo}..{anchor.seq}"
        return Problem(
            lo,
            Reason.TRUNCATED_TAIL,
            f"the log ends at seq {end} but the anchor is seq {anchor.seq}: {missing} missing",
        )
    if anchor.hash is None:
        return None
    if anchor.seq is not None:
        if hit is not None and hit.seq == anchor.seq:
            return None
        kind = at_seq.kind if at_seq is not None else None
        return Problem(
            anchor.seq,
            Reason.ANCHOR_MISMATCH,
            f"seq {anchor.seq} is not the anchored record {_short(anchor.hash)}: the log was rewritten up to there",
            kind,
        )
    if hit is not None:
        return None
    return Problem(
        None,
        Reason.ANCHOR_MISMATCH,
        f"the anchored record {_short(anchor.hash)} is not in the log: the tail was removed or the log "
        "rewritten (give the anchor as SEQ:HASH to tell which)",
    )
