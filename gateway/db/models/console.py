"""Console sign-in sessions: one row per signed-in browser (people and the big screen).

The cookie carries a random token; only its SHA-256 is stored (``id``), so a
copy of the database cannot be replayed as a session.  ``csrf`` is the
session's anti-forgery token, which every console form must send back.
Rows outlive a gateway restart: a screen or a chair stays signed in.
"""

import datetime as dt

from sqlalchemy import CheckConstraint, String
from sqlmodel import Field, SQLModel

from ..types import UTCDateTime, utcnow
from . import _meta  # noqa: F401  (naming convention before any table)

__all__ = ["ConsoleSession"]


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_session"
    __table_args__ = (CheckConstraint("role IN ('chair', 'clerk', 'technician', 'display')", name="role"),)
    id: str = Field(primary_key=True, max_length=64)
    """SHA-256 (hex) of the cookie's token."""
    user_name: str = Field(max_length=64, index=True)
    role: str = Field(sa_type=String(16))
    csrf: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
