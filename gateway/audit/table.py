"""The ``audit_event`` table, as SQLAlchemy Core.

The schema belongs to :mod:`gateway.db` (``gateway.db.models.AuditEvent``,
created by the migrations); the log only reads and inserts rows:

- ``seq``: integer primary key; the log assigns it (previous + 1) itself,
  so a rolled-back append never leaves a hole in the sequence;
- ``at``: timezone-aware UTC time; ``kind``, ``actor``: text;
- ``payload``: canonical JSON text;
- ``prev_hash``, ``hash``: 64 lowercase hex digits; ``hash`` is unique.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table

from gateway.db.models import AuditEvent

__all__ = ["AUDIT_COLUMNS", "audit_table", "create_audit_table"]

AUDIT_COLUMNS = ("seq", "at", "kind", "actor", "payload", "prev_hash", "hash")


def audit_table() -> Table:
    """``gateway.db.models.AuditEvent.__table__``."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def create_audit_table(engine: Engine) -> Table:
    """Create only the audit table (tools, small tests); a hall database gets it from the migrations."""
    table = audit_table()
    table.create(engine, checkfirst=True)
    return table
