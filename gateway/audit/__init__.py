"""The audit log: append-only, hash-chained events, and a verifier that names a tampered record.

* :mod:`gateway.audit.chain`: canonical JSON, event hashes, :func:`verify_chain` (pure);
* :mod:`gateway.audit.kinds`: the registry of event kinds and their exact payload fields;
* :mod:`gateway.audit.log`: :class:`AuditLog` on the ``audit_event`` table (SQLite / PostgreSQL);
* :mod:`gateway.audit.trail`: which of the core's events are audited, and how (the service's hook);
* :mod:`gateway.audit.errors`: :class:`Reason`, :class:`SchemaCode` and the error types.

The CLI is ``hallvote audit verify|show`` (:mod:`gateway.cli.audit`).
"""

from .chain import (
    GENESIS,
    GENESIS_HASH,
    Anchor,
    Head,
    Problem,
    Record,
    VerifyReport,
    canonical_json,
    event_hash,
    parse_anchor,
    verify_chain,
)
from .errors import AuditError, AuditSchemaError, CanonicalError, ChainError, Reason, SchemaCode
from .kinds import KINDS, Kind, validate
from .log import AuditLog, Event

__all__ = [
    "GENESIS",
    "GENESIS_HASH",
    "KINDS",
    "Anchor",
    "AuditError",
    "AuditLog",
    "AuditSchemaError",
    "CanonicalError",
    "ChainError",
    "Event",
    "Head",
    "Kind",
    "Problem",
    "Reason",
    "Record",
    "SchemaCode",
    "VerifyReport",
    "canonical_json",
    "event_hash",
    "parse_anchor",
    "validate",
    "verify_chain",
]
