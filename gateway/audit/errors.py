"""The audit log's error hierarchy and reason codes.

Two closed tables of codes, both string enums so they print and serialise
as themselves:

- :class:`Reason`: why ``verify`` judged a record bad (a tampered log);
- :class:`SchemaCode`: why ``append`` refused an event (a programming
  error in the caller, never written to the log).

Every error is an :class:`AuditError` carrying one of these codes.
"""

from __future__ import annotations

import enum

__all__ = [
    "AuditError",
    "AuditSchemaError",
    "CanonicalError",
    "ChainError",
    "Reason",
    "SchemaCode",
]


class Reason(enum.StrEnum):
    """Why a record (or the log as a whole) fails verification."""

    #: The record's hash does not match its own content (seq, time, kind,
    #: actor, payload or prev_hash was changed in place).
    EDITED = "EDITED"
    #: The record's prev_hash is not the previous record's hash: the
    #: previous record was replaced (hash recomputed), or records in
    #: between were removed or moved.
    BROKEN_LINK = "BROKEN_LINK"
    #: seq is not previous + 1: records are missing (deleted rows).
    GAP = "GAP"
    #: seq or time goes backwards, or a seq repeats.
    REORDERED = "REORDERED"
    #: The log ends before the published anchor: records were removed from
    #: the end.  Only detectable with an anchor.
    TRUNCATED_TAIL = "TRUNCATED_TAIL"
    #: The published anchor is not in the log although the log is long
    #: enough: the log was rewritten (hashes recomputed) up to there.
    ANCHOR_MISMATCH = "ANCHOR_MISMATCH"
    #: A column holds something no writer produces (hash not 64-hex,
    #: naive time, payload not canonical JSON).
    MALFORMED = "MALFORMED"

    def __str__(self) -> str:
        return self.value


class SchemaCode(enum.StrEnum):
    """Why an event was refused before it reached the log."""

    UNKNOWN_KIND = "UNKNOWN_KIND"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    MISSING_FIELD = "MISSING_FIELD"
    BAD_VALUE = "BAD_VALUE"
    BAD_ACTOR = "BAD_ACTOR"
    #: A named-vote event for a round that is secret or not known to be named.
    SECRET_BALLOT = "SECRET_BALLOT"
    #: A value the canonical encoding cannot represent exactly.
    NOT_CANONICAL = "NOT_CANONICAL"

    def __str__(self) -> str:
        return self.value


class AuditError(Exception):
    """Base of all audit errors; ``code`` is a :class:`Reason` or :class:`SchemaCode`."""

    def __init__(self, code: Reason | SchemaCode, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code.value}: {self.detail}" if self.detail else self.code.value


class AuditSchemaError(AuditError, ValueError):
    """``append`` refused an event: unknown kind, unknown or missing field, bad value."""

    code: SchemaCode

    def __init__(self, code: SchemaCode, detail: str = "", *, kind: str | None = None) -> None:
        super().__init__(code, detail)
        self.kind = kind


class CanonicalError(AuditSchemaError):
    """A value that has no canonical JSON form (float, naive datetime, non-str key...)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(SchemaCode.NOT_CANONICAL, detail)


class ChainError(AuditError):
    """A log that fails verification; ``seq`` names the first bad record (None: no position)."""

    code: Reason

    def __init__(
        self, code: Reason, detail: str = "", *, seq: int | None = None, kind: str | None = None
    ) -> None:
        super().__init__(code, detail)
        self.seq = seq
        self.kind = kind

    def __str__(self) -> str:
        where = "log" if self.seq is None else f"seq {self.seq}"
        if self.kind:
            where += f" ({self.kind})"
        return f"{where}: {super().__str__()}"
