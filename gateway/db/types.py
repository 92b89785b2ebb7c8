"""Column types and field validators shared by the models.

- :class:`UTCDateTime`: every timestamp is timezone-aware UTC in Python.
  PostgreSQL stores ``timestamp with time zone``; SQLite has no time zone
  type, so the value is stored as naive UTC text and read back as aware
  UTC.  A naive datetime is refused on write: it is always a bug.
- Validators for hall/device ids (protocol.topics rules), seat labels, card
  UIDs and 8-byte nonces, usable as pydantic ``Annotated`` types.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from protocol import consts, topics
from protocol.errors import EncodeError

__all__ = [
    "CARD_UID_LENGTHS",
    "CardUidHex",
    "HexBytes",
    "HubId",
    "SeatLabel",
    "UTCDateTime",
    "check_card_uid",
    "check_hub_id",
    "check_seat_label",
    "new_nonce",
    "utcnow",
]

CARD_UID_LENGTHS = (4, 7, 10)
"""ISO 14443A card UIDs are 4, 7 or 10 bytes (protocol.consts.CARD_UID_MAX = 10)."""


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def new_nonce() -> bytes:
    """A fresh random sitting or round nonce (protocol.consts.NONCE_LEN bytes)."""
    return secrets.token_bytes(consts.NONCE_LEN)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: hallvote stores timezone-aware UTC only")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def check_hub_id(value: str) -> str:
    """A hall or device id: 1..16 of ``a-z 0-9 -``, not starting with ``-`` (protocol.topics)."""
    try:
        return topics.check_id(value)
    except EncodeError as exc:
        raise ValueError(str(exc)) from None


def check_seat_label(value: str) -> str:
    """1..8 printable ASCII characters without spaces (the keypad display shows it)."""
    if not isinstance(value, str) or not 1 <= len(value) <= consts.SEAT_LABEL_MAX:
        raise ValueError(f"seat label must be 1..{consts.SEAT_LABEL_MAX} characters: {value!r}")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValueError(f"seat label must be printable ASCII without spaces: {value!r}")
    return value


def check_card_uid(value: str) -> str:
    """A card UID as hex (4, 7 or 10 bytes), returned lower-case, as ``bytes.hex()`` gives it."""
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"card UID must be hexadecimal: {value!r}") from None
    if len(raw) not in CARD_UID_LENGTHS or len(text) != 2 * len(raw):
        raise ValueError(f"card UID must be 4, 7 or 10 bytes of hex (8, 14 or 20 digits): {value!r}")
    return raw.hex()


def _bytes_from_hex(value: object) -> object:
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ValueError("expected hexadecimal bytes") from None
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


HubId = Annotated[str, AfterValidator(check_hub_id)]
SeatLabel = Annotated[str, AfterValidator(check_seat_label)]
CardUidHex = Annotated[str, AfterValidator(check_card_uid)]
HexBytes = Annotated[
    bytes,
    BeforeValidator(_bytes_from_hex),
    PlainSerializer(lambda b: b.hex(), return_type=str, when_used="json"),
]
"""Bytes that travel as hex in JSON (public keys, nonces)."""
