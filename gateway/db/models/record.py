"""The lasting record: deputy rating history and the audit event log."""

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from protocol import consts

from ..types import UTCDateTime, utcnow
from . import _meta  # noqa: F401  (naming convention before any table)

__all__ = [
    "AuditEvent",
    "AuditEventPublic",
    "RatingRecord",
    "RatingRecordBase",
    "RatingRecordCreate",
    "RatingRecordPublic",
]


class RatingRecordBase(SQLModel):
    year: int = Field(ge=1949, le=9999)
    grade: int = Field(ge=consts.EXCELLENT, le=consts.UNSATISFIED)
    """The protocol grade code: 1 优秀, 2 满意, 3 基本满意, 4 不满意."""


class RatingRecordCreate(RatingRecordBase):
    pass


class RatingRecord(RatingRecordBase, table=True):
    """A deputy's performance rating (代表履职报告制) for one year."""

    __tablename__ = "rating_record"
    __table_args__ = (
        UniqueConstraint("member_id", "year"),
        CheckConstraint("grade BETWEEN 1 AND 4", name="grade"),
    )
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RatingRecordPublic(RatingRecordBase):
    id: int
    member_id: int
    recorded_at: dt.datetime


class AuditEvent(SQLModel, table=True):
    """One entry of the append-only, hash-chained audit log (logic in gateway.audit).

    ``seq`` never repeats (SQLite AUTOINCREMENT, a PostgreSQL sequence);
    ``payload`` is canonical JSON text; ``prev_hash`` and ``hash`` are 64
    lower-case hex digits of SHA-256.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("hash"),
        CheckConstraint("length(prev_hash) = 64 AND length(hash) = 64", name="hash_length"),
        {"sqlite_autoincrement": True},
    )
    seq: int | None = Field(
        default=None, sa_type=Integer, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str
    actor: str
    payload: str = Field(sa_type=Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditEventPublic(SQLModel):
    seq: int
    at: dt.datetime
    kind: str
    actor: str
    payload: str
    prev_hash: str
    hash: str
