"""The registry of audit event kinds: each kind's exact payload fields.

Rules:
- an event's kind must be in :data:`KINDS`; its payload must have exactly
  the kind's fields (no unknown field, no missing field; a nullable field
  is present with ``None``), each of the declared type;
- a field that says what a voter chose is declared ``choice=True``; a
  field that names a member, seat or device is declared ``identity=True``;
  a field whose name sounds like a choice (:data:`CHOICE_WORDS`) must be
  declared ``choice=True``;
- only ``named_only`` kinds may carry a choice field, and the log writes
  them only for a round whose ``round.opened`` said ``secret: false``
  (checked in the log, which can see earlier events); so for a secret
  motion no audit record can link a seat, member or device to a choice:
  ``vote.participation_secret`` says only *who took part*;
- no kind carries running totals of an open round: totals appear once, in
  ``result.frozen``, after the round is closed;
- ``api.call`` records the route *template* (``/rounds/{round_id}``), never
  a query string or request body.

:func:`check_registry` states these invariants as code; it runs at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .chain import canonical_value, dumps_canonical
from .errors import AuditSchemaError, CanonicalError, SchemaCode

__all__ = [
    "BOOL",
    "CHOICES",
    "CHOICE_WORDS",
    "COUNT",
    "HEX",
    "ID",
    "KINDS",
    "LABEL",
    "MAX_ACTOR",
    "MAX_PAYLOAD",
    "METHOD",
    "PATH",
    "STATUS",
    "TEXT",
    "TOTALS",
    "Field",
    "FieldType",
    "Kind",
    "check_actor",
    "check_registry",
    "kind",
    "round_key",
    "validate",
    "validated",
]

MAX_ACTOR = 200
MAX_TEXT = 2000
MAX_ID = 200
#: Largest canonical payload, in UTF-8 bytes.
MAX_PAYLOAD = 16 * 1024
#: Field names that (would) say what a voter chose.
CHOICE_WORDS = frozenset({"choice", "choices", "vote", "votes", "ballot", "pressed", "key", "keys", "answer"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --------------------------------------------------------------------------- field types


@dataclass(frozen=True)
class FieldType:
    """A named check: ``check(value)`` returns None when fine, else what is wrong."""

    name: str
    check: Callable[[Any], str | None]

    def __repr__(self) -> str:
        return f"FieldType({self.name})"


def _text(limit: int, *, oneline: bool) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "expected text"
        if len(v) > limit:
            return f"longer than {limit} characters"
        if oneline and _CONTROL.search(v):
            return "contains control characters"
        return None

    return check


_id_text = _text(MAX_ID, oneline=True)


def _id(v: Any) -> str | None:
    if _is_int(v):
        return None if v >= 0 else "negative id"
    if isinstance(v, str):
        if not v:
            return "empty id"
        return _id_text(v)
    return "expected an id (text or integer)"


def _count(v: Any) -> str | None:
    return None if _is_int(v) and v >= 0 else "expected a non-negative integer"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "expected true or false"


def _totals(v: Any) -> str | None:
    if not isinstance(v, Mapping) or not v:
        return "expected a non-empty mapping of label -> count"
    for k, n in v.items():
        if not isinstance(k, str) or not k or len(k) > MAX_ID:
            return f"bad label {k!r}"
        if not _is_int(n) or n < 0:
            return f"count for {k!r} is not a non-negative integer"
    return None


def _choices(v: Any) -> str | None:
    if not isinstance(v, list | tuple) or not v or len(v) > 64:
        return "expected a non-empty list of at most 64 choices"
    if not all(_is_int(c) and 0 <= c <= 255 for c in v):
        return "choices are integers 0..255 (protocol choice codes)"
    return None


def _hex(v: Any) -> str | None:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9a-f]{16,128}", v):
        return "expected 16..128 lowercase hex characters"
    return None


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


def _method(v: Any) -> str | None:
    return None if v in _METHODS else f"expected one of {sorted(_METHODS)}"


_path_text = _text(500, oneline=True)


def _path(v: Any) -> str | None:
    bad = _path_text(v)
    if bad:
        return bad
    if not v.startswith("/"):
        return "expected a route path starting with '/'"
    if "?" in v or "#" in v:
        return "route template only: no query string or fragment"
    return None


def _status(v: Any) -> str | None:
    return None if _is_int(v) and 100 <= v <= 599 else "expected an HTTP status 100..599"


ID = FieldType("id", _id)
TEXT = FieldType("text", _text(MAX_TEXT, oneline=False))
LABEL = FieldType("label", _text(MAX_ID, oneline=True))
COUNT = FieldType("count", _count)
BOOL = FieldType("bool", _bool)
TOTALS = FieldType("totals", _totals)
CHOICES = FieldType("choices", _choices)
HEX = FieldType("hex", _hex)
METHOD = FieldType("http-method", _method)
PATH = FieldType("route-path", _path)
STATUS = FieldType("http-status", _status)


@dataclass(frozen=True)
class Field:
    type: FieldType
    nullable: bool = False
    #: names a member, seat or device
    identity: bool = False
    #: says what a voter chose
    choice: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    doc: str
    fields: Mapping[str, Field]
    #: carries a voter's choice: the log writes it only for a round opened as named
    named_only: bool = False
    required: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "required", frozenset(self.fields))


def _k(name: str, doc: str, named_only: bool = False, **fields: Field) -> Kind:
    return Kind(name, doc, fields, named_only)


_ID = Field(ID)
_WHO = Field(ID, identity=True)
_WHO_OR_NONE = Field(ID, nullable=True, identity=True)

_ALL: tuple[Kind, ...] = (
    _k("sitting.opened", "the chair opened a sitting", sitting=_ID, body=_ID, title=Field(TEXT)),
    _k("sitting.checkin_opened", "check-in opened", sitting=_ID),
    _k("sitting.checkin_closed", "check-in closed (late check-in may still follow)", sitting=_ID),
    _k("sitting.closed", "the chair closed the sitting", sitting=_ID),
    _k(
        "checkin.recorded",
        "a member checked in at a seat with a device",
        sitting=_ID,
        member=_WHO,
        seat=_WHO,
        device=_WHO,
        late=Field(BOOL),
    ),
    _k(
        "round.opened",
        "a round of a motion opened for voting (secret or named), with the quorum it opened on",
        sitting=_ID,
        motion=_ID,
        round=_ID,
        secret=Field(BOOL),
        quorum_expected=Field(COUNT),
        quorum_present=Field(COUNT),
        override=Field(BOOL),
    ),
    _k("round.paused", "a round paused (fault, dispute)", motion=_ID, round=_ID, reason=Field(TEXT)),
    _k("round.resumed", "a paused round resumed", motion=_ID, round=_ID),
    _k("round.closed", "a round closed: no more presses count", motion=_ID, round=_ID),
    _k("round.announced", "the result was announced in the hall", motion=_ID, round=_ID),
    _k(
        "secret.purged",
        "a closed secret round's deleted choices have left the database files: its close is complete",
        motion=_ID,
        round=_ID,
    ),
    _k(
        "result.frozen",
        "a closed round's result, by the rule applied",
        motion=_ID,
        round=_ID,
        rule=Field(TEXT),
        totals=Field(TOTALS),
        outcome=Field(LABEL),
        ballot_kind=Field(COUNT),
        expected=Field(COUNT),
        present=Field(COUNT),
        voted=Field(COUNT),
        item_outcomes=Field(TOTALS),
    ),
    _k(
        "manual.entered",
        "keypads failed: counts entered by hand (show of hands or paper) with a reason, awaiting confirmation",
        motion=_ID,
        round=_ID,
        method=Field(LABEL),
        reason=Field(TEXT),
        totals=Field(TOTALS),
        expected=Field(COUNT),
        present=Field(COUNT),
        entered_by=Field(LABEL),
        entered_role=Field(LABEL),
    ),
    _k(
        "manual.rejected",
        "the person asked to confirm manual counts refused them",
        motion=_ID,
        round=_ID,
        entered_by=Field(LABEL),
        rejected_by=Field(LABEL),
        reason=Field(TEXT),
    ),
    _k(
        "manual.confirmed",
        "manual counts confirmed by a second person: they replace the keypad tally of the round",
        motion=_ID,
        round=_ID,
        method=Field(LABEL),
        reason=Field(TEXT),
        totals=Field(TOTALS),
        entered_by=Field(LABEL),
        confirmed_by=Field(LABEL),
    ),
    _k(
        "override.quorum",
        "the chair opened a round without quorum",
        motion=_ID,
        round=_ID,
        chair=_WHO,
        reason=Field(TEXT),
        quorum_expected=Field(COUNT),
        quorum_present=Field(COUNT),
    ),
    _k(
        "device.registered",
        "a keypad's public key was registered",
        device=_WHO,
        seat=_WHO_OR_NONE,
        member=_WHO_OR_NONE,
        key_fingerprint=Field(HEX),
    ),
    _k(
        "device.bound",
        "a keypad was bound to a seat (member: who sits there in the live or next sitting)",
        device=_WHO,
        seat=_WHO,
        member=_WHO_OR_NONE,
        key_fingerprint=Field(HEX),
    ),
    _k(
        "device.unbound",
        "a keypad was unbound from its seat",
        device=_WHO,
        seat=_WHO_OR_NONE,
        member=_WHO_OR_NONE,
        key_fingerprint=Field(HEX),
    ),
    _k(
        "device.revoked",
        "a keypad was revoked",
        device=_WHO,
        seat=_WHO_OR_NONE,
        member=_WHO_OR_NONE,
        key_fingerprint=Field(HEX),
        reason=Field(TEXT),
    ),
    Kind(
        "device.swapped",
        "a failed keypad at a seat was replaced; the member's presses carry over",
        {
            "seat": _WHO,
            "member": _WHO_OR_NONE,
            "from": _WHO,
            "to": _WHO,
            "from_key_fingerprint": Field(HEX),
            "to_key_fingerprint": Field(HEX),
        },
    ),
    _k(
        "vote.recorded_named",
        "a member's choice in a named (recorded) round",
        named_only=True,
        motion=_ID,
        round=_ID,
        member=_WHO,
        seat=_WHO,
        choices=Field(CHOICES, choice=True),
    ),
    _k(
        "vote.participation_secret",
        "a member took part in a secret round (never what they chose, nor seat or device)",
        motion=_ID,
        round=_ID,
        member=_WHO,
    ),
    _k(
        "api.call",
        "a mutating API call (actor = the authenticated user)",
        method=Field(METHOD),
        path=Field(PATH),
        role=Field(LABEL),
        status=Field(STATUS),
    ),
    _k("config.loaded", "the gateway loaded its configuration", source=Field(TEXT), digest=Field(HEX)),
    Kind(
        "hall.registered",
        "the gateway registered its hall from its settings at start",
        {"hall": Field(TEXT), "name": Field(TEXT)},
    ),
    _k("console.signed_in", "a person signed in to the console (actor = the person)", role=Field(LABEL)),
    _k("console.signed_out", "a person signed out of the console", role=Field(LABEL)),
    Kind(
        "console.signin_refused",
        "a console sign-in was refused (wrong name or password)",
        {"name": Field(TEXT)},
    ),
    Kind(
        "console.signin_throttled",
        "refused sign-ins from one address reached the limit: it is paused (recorded once per pause)",
        {"address": Field(LABEL), "refused": Field(COUNT)},
    ),
    _k(
        "round.rerun",
        "the chair re-ran a motion as a new round, with the reason",
        motion=_ID,
        round=_ID,
        reason=Field(TEXT),
    ),
)

#: kind name -> :class:`Kind`
KINDS: Mapping[str, Kind] = MappingProxyType({k.name: k for k in _ALL})


def check_registry(registry: Mapping[str, Kind]) -> None:
    """Raise AssertionError if the registry breaks the secret-ballot invariants."""
    for name, k in registry.items():
        if name != k.name:
            raise AssertionError(f"{name}: registered under another name than {k.name}")
        if not re.fullmatch(r"[a-z]+(\.[a-z_]+)+", name):
            raise AssertionError(f"{name}: kind names are dotted lowercase words")
        for fname, f in k.fields.items():
            if fname.lower() in CHOICE_WORDS and not f.choice:
                raise AssertionError(f"{name}.{fname}: sounds like a choice but is not declared choice=True")
        has_choice = any(f.choice for f in k.fields.values())
        if has_choice and not k.named_only:
            raise AssertionError(f"{name}: carries a choice but is not named_only")
        if k.named_only and not {"motion", "round"} <= set(k.fields):
            raise AssertionError(f"{name}: named_only kinds need motion and round to check the ballot mode")


check_registry(KINDS)


def kind(name: str) -> Kind:
    """The registered kind, or :class:`AuditSchemaError` (UNKNOWN_KIND)."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise AuditSchemaError(SchemaCode.UNKNOWN_KIND, f"unknown event kind {name!r}", kind=None) from None


def check_actor(actor: object) -> str:
    if not isinstance(actor, str) or not actor or len(actor) > MAX_ACTOR or _CONTROL.search(actor):
        raise AuditSchemaError(
            SchemaCode.BAD_ACTOR, f"actor must be 1..{MAX_ACTOR} characters of one-line text, got {actor!r}"
        )
    return actor


def validate(
    name: str, actor: object, payload: object, registry: Mapping[str, Kind] = KINDS
) -> dict[str, Any]:
    """Check one event against its kind; return the payload as canonical JSON data."""
    return validated(name, actor, payload, registry)[0]


def validated(
    name: str, actor: object, payload: object, registry: Mapping[str, Kind] = KINDS
) -> tuple[dict[str, Any], str]:
    """:func:`validate`, and the payload's canonical JSON text (made once, for the record)."""
    try:
        k = registry[name]
    except (KeyError, TypeError):
        raise AuditSchemaError(SchemaCode.UNKNOWN_KIND, f"unknown event kind {name!r}") from None
    check_actor(actor)
    if not isinstance(payload, Mapping):
        raise AuditSchemaError(SchemaCode.BAD_VALUE, f"{name}: payload must be a mapping", kind=name)
    if not (len(payload) == len(k.required) and payload.keys() <= k.required):  # else: which, and why
        unknown = sorted(str(f) for f in payload if f not in k.fields)
        if unknown:
            raise AuditSchemaError(
                SchemaCode.UNKNOWN_FIELD,
                f"{name}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(k.fields))}",
                kind=name,
            )
        missing = sorted(k.required - set(payload))
        if missing:
            raise AuditSchemaError(
                SchemaCode.MISSING_FIELD, f"{name}: missing field(s) {', '.join(missing)}", kind=name
            )
    for fname, f in k.fields.items():
        v = payload[fname]
        if v is None:
            if not f.nullable:
                raise AuditSchemaError(SchemaCode.BAD_VALUE, f"{name}.{fname}: may not be null", kind=name)
            continue
        bad = f.type.check(v)
        if bad is not None:
            raise AuditSchemaError(
                SchemaCode.BAD_VALUE, f"{name}.{fname}: {bad} ({f.type.name}), got {v!r}", kind=name
            )
    try:
        data: dict[str, Any] = canonical_value(payload)
        text = dumps_canonical(data)
        size = len(text.encode("utf-8"))
    except CanonicalError as exc:
        raise AuditSchemaError(SchemaCode.NOT_CANONICAL, f"{name}: {exc.detail}", kind=name) from None
    if size > MAX_PAYLOAD:
        raise AuditSchemaError(
            SchemaCode.BAD_VALUE, f"{name}: payload is {size} bytes, limit {MAX_PAYLOAD}", kind=name
        )
    return data, text


def round_key(payload: Mapping[str, Any]) -> tuple[Any, Any]:
    """(motion, round) as canonical values: how round events find each other."""
    return canonical_value(payload["motion"]), canonical_value(payload["round"])
