"""Who votes and where: bodies, members, halls, seats, keypads (devices).

Base/Create/Public classes as in the FastAPI full-stack template: ``XBase``
holds the fields a client may send and see, ``XCreate`` is what a client
sends, ``X`` is the table, ``XPublic`` is what the API returns.  Parent ids
(a member's body, a seat's hall) are table columns passed to the store
functions as keyword arguments, not part of the Create bodies.
"""

import datetime as dt
import enum
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import BigInteger, CheckConstraint, Index, LargeBinary, String, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from protocol import consts
from protocol.errors import SignatureError

from ..types import CardUidHex, HexBytes, HubId, SeatLabel, UTCDateTime, utcnow
from . import _meta  # noqa: F401  (naming convention before any table)

__all__ = [
    "DEFAULT_QUORUM",
    "Body",
    "BodyBase",
    "BodyCreate",
    "BodyKind",
    "BodyPublic",
    "Device",
    "DeviceCreate",
    "DevicePublic",
    "Hall",
    "HallBase",
    "HallCreate",
    "HallPublic",
    "Member",
    "MemberBase",
    "MemberCreate",
    "MemberPublic",
    "Seat",
    "SeatBase",
    "SeatCreate",
    "SeatPublic",
    "check_public_key",
]

PUBLIC_KEY_LEN = 65  # uncompressed SEC1 P-256 point: 04 || X || Y


class BodyKind(enum.StrEnum):
    CONGRESS = "congress"  # 人民代表大会
    PRESIDIUM = "presidium"  # 主席团
    STANDING_COMMITTEE = "standing_committee"  # 常委会


DEFAULT_QUORUM: dict[BodyKind, tuple[int, int, bool]] = {
    BodyKind.CONGRESS: (2, 3, False),  # 三分之二以上: at least 2/3 of the deputies (218 of 327)
    BodyKind.PRESIDIUM: (1, 2, True),  # more than half
    BodyKind.STANDING_COMMITTEE: (1, 2, True),  # more than half
}
"""Quorum per body kind as (numerator, denominator, strict); strict = "more than"."""


def _clean_text(value: Any) -> Any:
    """Strip surrounding blanks; refuse control characters; "" becomes None (then required fields fail)."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("control characters are not allowed")
    return value or None


# --- Body -------------------------------------------------------------------


class BodyBase(SQLModel):
    name: str = Field(min_length=1, max_length=128)
    kind: BodyKind = Field(sa_type=String(24))
    quorum_numerator: int = Field(ge=1)
    quorum_denominator: int = Field(ge=2)
    quorum_strict: bool
    quorum_override_allowed: bool = False
    """May the chair open a vote without quorum (recorded in the audit log)?"""
    readerless_checkin_allowed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    """May a keypad without a card reader check in a member who has a card on record?

    False (the default): such a member checks in only with their own card
    (代签到 is refused with CARD_MISMATCH).  True for halls whose keypads
    have no readers."""

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _clean_text(value)

    @model_validator(mode="after")
    def _fraction(self) -> "BodyBase":
        if not 0 < self.quorum_numerator < self.quorum_denominator:
            raise ValueError("quorum fraction must lie strictly between 0 and 1")
        return self


class BodyCreate(BodyBase):
    """Quorum fields default by kind (DEFAULT_QUORUM) when left out."""

    @model_validator(mode="before")
    @classmethod
    def _default_quorum(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in set(BodyKind):
            num, den, strict = DEFAULT_QUORUM[BodyKind(data["kind"])]
            data = {"quorum_numerator": num, "quorum_denominator": den, "quorum_strict": strict, **data}
        return data


class Body(BodyBase, table=True):
    __table_args__ = (
        CheckConstraint("kind IN ('congress', 'presidium', 'standing_committee')", name="kind"),
        CheckConstraint("quorum_numerator > 0 AND quorum_denominator > quorum_numerator", name="quorum"),
        UniqueConstraint("name"),
    )
    id: int | None = Field(default=None, primary_key=True)


class BodyPublic(BodyBase):
    id: int


# --- Member -----------------------------------------------------------------


class MemberBase(SQLModel):
    name: str = Field(min_length=1, max_length=64)
    name_pinyin: str | None = Field(default=None, max_length=128)
    delegation: str | None = Field(default=None, max_length=64)
    """代表团 / 小组: the delegation or group the member sits with."""
    card_uid: CardUidHex | None = Field(default=None, max_length=20)
    """Lower-case hex of the member's card UID (4, 7 or 10 bytes), as ``bytes.hex()`` gives it."""
    active: bool = True

    @field_validator("name", "name_pinyin", "delegation", "card_uid", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _clean_text(value)


class MemberCreate(MemberBase):
    pass


class Member(MemberBase, table=True):
    __table_args__ = (UniqueConstraint("body_id", "card_uid"),)
    id: int | None = Field(default=None, primary_key=True)
    body_id: int = Field(foreign_key="body.id", index=True)


class MemberPublic(MemberBase):
    id: int
    body_id: int


# --- Hall and seats ---------------------------------------------------------


class HallBase(SQLModel):
    name: str = Field(min_length=1, max_length=128)


class HallCreate(HallBase):
    id: HubId = Field(max_length=16)
    """Hall id as it appears in MQTT topics: 1..16 of a-z 0-9 -, not starting with -."""


class Hall(HallBase, table=True):
    id: str = Field(primary_key=True, max_length=16)


class HallPublic(HallBase):
    id: str


class SeatBase(SQLModel):
    label: SeatLabel = Field(max_length=consts.SEAT_LABEL_MAX)
    """What the keypad displays: 1..8 printable ASCII characters, no spaces."""
    row: int = Field(ge=1, le=999)
    col: int = Field(ge=1, le=999)


class SeatCreate(SeatBase):
    pass


class Seat(SeatBase, table=True):
    """A seat of a hall; (row, col) places it on the seat map, row 1 nearest the rostrum."""

    __table_args__ = (
        UniqueConstraint("hall_id", "label"),
        UniqueConstraint("hall_id", "row", "col"),
        CheckConstraint("length(label) BETWEEN 1 AND 8", name="label"),
        CheckConstraint('"row" >= 1 AND col >= 1', name="position"),
    )
    id: int | None = Field(default=None, primary_key=True)
    hall_id: str = Field(foreign_key="hall.id", max_length=16)


class SeatPublic(SeatBase):
    id: int
    hall_id: str


# --- Devices (keypads) ------------------------------------------------------


def check_public_key(raw: bytes) -> bytes:
    """A 65-byte uncompressed SEC1 P-256 point, checked on the curve by gateway.core.signatures."""
    try:
        from gateway.core.signatures import load_public_key
    except ImportError:  # pragma: no cover - gateway.core.signatures is part of the gateway
        if len(raw) != PUBLIC_KEY_LEN or raw[:1] != b"\x04":
            raise ValueError("public key must be 65 bytes 04 || X || Y (uncompressed P-256)") from None
        return raw
    try:
        load_public_key(raw)
    except SignatureError as exc:
        raise ValueError(f"invalid public key: {exc}") from None
    return raw


class DeviceCreate(SQLModel):
    """Registering a keypad; ``broker_username`` defaults to the device id (broker_config)."""

    device_id: HubId = Field(max_length=16)
    public_key: HexBytes
    broker_username: str = Field(min_length=1, max_length=64)
    firmware_version: str | None = Field(default=None, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _default_username(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("broker_username") and "device_id" in data:
            data = {**data, "broker_username": data["device_id"]}
        return data

    @field_validator("public_key")
    @classmethod
    def _public_key(cls, value: bytes) -> bytes:
        return check_public_key(value)


class Device(SQLModel, table=True):
    """A keypad: its identity (public key), broker account, health, and the seat it is bound to.

    A device is bound to at most one seat, and a seat has at most one
    device that is not revoked (partial unique index): a swapped keypad is
    revoked, keeps its old seat for the record, and the new one is bound.
    """

    __table_args__ = (
        Index(
            "uq_device_seat_id_active",
            "seat_id",
            unique=True,
            sqlite_where=text("NOT revoked"),
            postgresql_where=text("NOT revoked"),
        ),
        CheckConstraint("length(public_key) = 65", name="public_key"),
        CheckConstraint("NOT revoked OR revoked_at IS NOT NULL", name="revoked_at"),
    )
    device_id: str = Field(primary_key=True, max_length=16)
    hall_id: str = Field(foreign_key="hall.id", max_length=16, index=True)
    public_key: bytes = Field(sa_type=LargeBinary)
    broker_username: str = Field(max_length=64, unique=True)
    firmware_version: str | None = Field(default=None, max_length=32)
    registered_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Health, from hello/status frames.
    last_seen: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    battery: int | None = None
    """Percent 0..100; None when unknown (the frame's 255)."""
    rssi: int | None = None
    free_heap: int | None = Field(default=None, sa_type=BigInteger)
    online: bool = False
    revoked: bool = False
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    seat_id: int | None = Field(default=None, foreign_key="seat.id")


class DevicePublic(SQLModel):
    device_id: str
    hall_id: str
    public_key: HexBytes
    broker_username: str
    firmware_version: str | None
    registered_at: dt.datetime
    last_seen: dt.datetime | None
    battery: int | None
    rssi: int | None
    free_heap: int | None
    online: bool
    revoked: bool
    revoked_at: dt.datetime | None
    seat_id: int | None
