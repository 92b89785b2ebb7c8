"""A sitting and what happens in it: seat map, attendance, motions, rounds.

Ids of sittings and motions are the ``sitting_id`` / ``motion_id`` of the
protocol frames (u32); a round's ``number`` is the frame's ``round`` (u8,
from 1).  Sitting state is the protocol byte (protocol.consts SITTING_*);
round state is the name used by gateway.core.states.RoundState.
"""

import datetime as dt
import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, BigInteger, CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from protocol import consts

from ..presets import apply_names
from ..types import HexBytes, UTCDateTime, new_nonce, utcnow
from . import _meta  # noqa: F401  (naming convention before any table)

__all__ = [
    "DEFAULT_OPTIONS",
    "INTERIM_DISPLAYS",
    "ROUND_STATES",
    "Attendance",
    "AttendancePublic",
    "Motion",
    "MotionBase",
    "MotionCreate",
    "MotionPublic",
    "PassingRuleSpec",
    "Round",
    "RoundPublic",
    "SeatAssignment",
    "SeatAssignmentBase",
    "SeatAssignmentCreate",
    "SeatAssignmentPublic",
    "Sitting",
    "SittingBase",
    "SittingCreate",
    "SittingKind",
    "SittingPublic",
    "item_count",
]


class SittingKind(enum.StrEnum):
    PREPARATORY = "preparatory"  # 预备会议
    PRESIDIUM = "presidium"  # 主席团会议
    PLENARY = "plenary"  # 全体会议
    STANDING_COMMITTEE_PLENARY = "standing_committee_plenary"  # 常委会全体会议
    JOINT_GROUP = "joint_group"  # 联组会议


ROUND_STATES = ("ready", "open", "paused", "closed", "announced")

INTERIM_DISPLAYS = ("none", "totals", "totals_not_pressed")
"""What the chair console shows while a round is open: nothing, the running totals, or the totals and
who has not pressed yet.  A secret round's choices are never shown while it is open, whatever this says."""

DEFAULT_OPTIONS = {
    consts.YES_NO_ABSTAIN: 0b0000_1110,  # yes, no, abstain
    consts.ITEM_LIST: 0b0000_1110,
    consts.RATING: 0b0001_1110,  # four grades; clear bit 1 for the three-grade form
}
"""Options mask per ballot kind: bit c set means choice code c may be pressed."""

_KIND_CHECK = "kind IN ('preparatory', 'presidium', 'plenary', 'standing_committee_plenary', 'joint_group')"


# --- Sitting ----------------------------------------------------------------


class SittingBase(SQLModel):
    body_id: int = Field(foreign_key="body.id", index=True)
    hall_id: str = Field(foreign_key="hall.id", max_length=16, index=True)
    kind: SittingKind = Field(sa_type=String(32))
    title: str = Field(min_length=1, max_length=200)
    late_checkin_allowed: bool = True
    """补签: may members check in after the session has started?"""


class SittingCreate(SittingBase):
    pass


class Sitting(SittingBase, table=True):
    __table_args__ = (
        CheckConstraint(_KIND_CHECK, name="kind"),
        CheckConstraint("state IN (0, 1, 2, 3)", name="state"),
        CheckConstraint("length(nonce) = 8", name="nonce"),
        UniqueConstraint("nonce"),
    )
    id: int | None = Field(default=None, primary_key=True)
    state: int = consts.SITTING_SETUP
    nonce: bytes = Field(default_factory=new_nonce, sa_type=LargeBinary)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class SittingPublic(SittingBase):
    id: int
    state: int
    nonce: HexBytes
    created_at: dt.datetime
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None


# --- Seat map and attendance ------------------------------------------------


class SeatAssignmentBase(SQLModel):
    seat_id: int = Field(foreign_key="seat.id")
    member_id: int = Field(foreign_key="member.id")


class SeatAssignmentCreate(SeatAssignmentBase):
    pass


class SeatAssignment(SeatAssignmentBase, table=True):
    """The seat map of one sitting: one member per seat, one seat per member."""

    __tablename__ = "seat_assignment"
    __table_args__ = (
        UniqueConstraint("sitting_id", "seat_id"),
        UniqueConstraint("sitting_id", "member_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    sitting_id: int = Field(foreign_key="sitting.id")


class SeatAssignmentPublic(SeatAssignmentBase):
    id: int
    sitting_id: int


class Attendance(SQLModel, table=True):
    """签到: a member present at a sitting.  ``late`` is 补签 (after the session started).

    ``device_id`` and ``counter`` name the check-in frame; both are None when
    the clerk recorded the check-in by hand.
    """

    sitting_id: int = Field(foreign_key="sitting.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    seat_id: int | None = Field(default=None, foreign_key="seat.id")
    device_id: str | None = Field(default=None, foreign_key="device.device_id", max_length=16)
    counter: int | None = Field(default=None, sa_type=BigInteger)
    checked_in_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    late: bool = False


class AttendancePublic(SQLModel):
    sitting_id: int
    member_id: int
    seat_id: int | None
    device_id: str | None
    checked_in_at: dt.datetime
    late: bool


# --- Motions and rounds -----------------------------------------------------


class PassingRuleSpec(BaseModel):
    """A passing rule as stored in ``Motion.passing_rule`` (gateway.rules.PassingRule).

    ``base``: ``all`` (全体组成人员, the roster), ``present`` (到会, checked
    in) or ``cast`` (yes + no + abstain); yes votes must be more than
    (``strict``) or at least ``numerator/denominator`` of the base.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Literal["all", "present", "cast"]
    numerator: int = PydanticField(ge=1)
    denominator: int = PydanticField(ge=2)
    strict: bool

    @model_validator(mode="after")
    def _fraction(self) -> "PassingRuleSpec":
        if not self.numerator < self.denominator:
            raise ValueError("passing fraction must lie strictly between 0 and 1")
        return self


def item_count(ballot_kind: int, items: list[str]) -> int:
    """The protocol's item_count: 1 for yes/no/abstain (the title is the question), else len(items)."""
    return 1 if ballot_kind == consts.YES_NO_ABSTAIN else len(items)


class MotionBase(SQLModel):
    title: str = Field(min_length=1, max_length=500)
    ballot_kind: int = Field(ge=1, le=3)
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    """Item titles (candidate projects, rated departments); empty for yes/no/abstain."""
    options: int = Field(ge=1, le=255)
    """Mask of admitted choice codes (bit c: code c may be pressed), as in motion-open."""
    press_policy: int = Field(default=consts.FIRST_PRESS, ge=1, le=2)
    secret: bool = True
    """无记名 (the norm): only participation and totals are kept after the round closes."""
    countdown_s: int | None = Field(default=None, ge=1, le=3600)
    passing_rule: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    """A PassingRuleSpec as JSON; None only for rating motions (the rating rule applies)."""
    select_k: int | None = Field(default=None, ge=1, le=consts.ITEMS_MAX)
    """Livelihood projects: how many of the candidate items to select."""
    interim: Literal["none", "totals", "totals_not_pressed"] = Field(
        default="totals",
        sa_type=String(24),
        description=(
            "表决进行中主持人界面显示：none 不显示，totals 显示总数，totals_not_pressed 显示总数和未按键名单；"
            "无记名表决进行中从不显示选择 / what the chair console shows while the round is open: none, "
            "totals, or totals and who has not pressed; a secret round's choices are never shown while open"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _default_options(cls, data: Any) -> Any:
        data = apply_names(data)
        if (
            isinstance(data, dict)
            and data.get("options") is None
            and data.get("ballot_kind") in DEFAULT_OPTIONS
        ):
            data = {**data, "options": DEFAULT_OPTIONS[data["ballot_kind"]]}
        return data

    @field_validator("items")
    @classmethod
    def _items(cls, items: list[str]) -> list[str]:
        cleaned = [item.strip() for item in items]
        if any(not item or len(item) > 200 for item in cleaned):
            raise ValueError("every item needs a title of 1..200 characters")
        return cleaned

    @field_validator("passing_rule")
    @classmethod
    def _rule(cls, rule: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if rule is None else PassingRuleSpec.model_validate(rule).model_dump()

    @model_validator(mode="after")
    def _consistent(self) -> "MotionBase":
        kind = self.ballot_kind
        if kind not in consts.BALLOT_KINDS:
            raise ValueError(f"unknown ballot kind {kind}")
        if self.press_policy not in consts.PRESS_POLICIES:
            raise ValueError(f"unknown press policy {self.press_policy}")
        if kind == consts.YES_NO_ABSTAIN and self.items:
            raise ValueError("a yes/no/abstain motion has no items: its title is the question")
        if kind != consts.YES_NO_ABSTAIN and not 1 <= len(self.items) <= consts.ITEMS_MAX:
            raise ValueError(f"an item list or rating needs 1..{consts.ITEMS_MAX} items")
        allowed = sum(1 << code for code in range(1, consts.choice_max(kind) + 1))
        if self.options & ~allowed:
            raise ValueError(f"options mask 0x{self.options:02x} admits codes ballot kind {kind} lacks")
        if self.passing_rule is None and kind != consts.RATING:
            raise ValueError("a yes/no/abstain or item-list motion needs a passing rule")
        if self.select_k is not None:
            if kind != consts.ITEM_LIST:
                raise ValueError("select_k is for item lists (livelihood projects) only")
            # 差额比例不低于20%: candidates >= ceil(1.2 K).
            if len(self.items) < -(-6 * self.select_k // 5):
                raise ValueError(
                    f"候选项目须不少于 {-(-6 * self.select_k // 5)} 项（差额比例不低于20%）/ candidates must number "
                    f"at least ceil(1.2 x select_k) = {-(-6 * self.select_k // 5)}"
                )
        return self


class MotionCreate(MotionBase):
    pass


class Motion(MotionBase, table=True):
    __table_args__ = (
        CheckConstraint("ballot_kind IN (1, 2, 3)", name="ballot_kind"),
        CheckConstraint("press_policy IN (1, 2)", name="press_policy"),
        CheckConstraint("options BETWEEN 1 AND 255", name="options"),
        CheckConstraint("countdown_s IS NULL OR countdown_s > 0", name="countdown"),
        CheckConstraint("select_k IS NULL OR select_k > 0", name="select_k"),
        CheckConstraint("interim IN ('none', 'totals', 'totals_not_pressed')", name="interim"),
    )
    id: int | None = Field(default=None, primary_key=True)
    sitting_id: int = Field(foreign_key="sitting.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MotionPublic(MotionBase):
    id: int
    sitting_id: int
    created_at: dt.datetime


class Round(SQLModel, table=True):
    """One round of voting on a motion; a re-run is the next round, and every round is kept.

    ``focus`` is the item the chair has put (0..31) or 255 for all items;
    ``deadline`` is the countdown's end.
    """

    __table_args__ = (
        UniqueConstraint("motion_id", "number"),
        UniqueConstraint("nonce"),
        CheckConstraint("number BETWEEN 1 AND 255", name="number"),
        CheckConstraint(
            "state IN ('ready', 'open', 'paused', 'closed', 'announced', 'manual')", name="state"
        ),
        CheckConstraint("length(nonce) = 8", name="nonce"),
        CheckConstraint("focus BETWEEN 0 AND 255", name="focus"),
    )
    id: int | None = Field(default=None, primary_key=True)
    motion_id: int = Field(foreign_key="motion.id")
    number: int
    nonce: bytes = Field(default_factory=new_nonce, sa_type=LargeBinary)
    state: str = Field(default="ready", max_length=16)
    focus: int = consts.ALL_ITEMS
    opened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    announced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    quorum_override: bool = False
    """The chair opened this round without quorum (allowed by the body; audited)."""


class RoundPublic(SQLModel):
    id: int
    motion_id: int
    number: int
    nonce: HexBytes
    state: str
    focus: int
    opened_at: dt.datetime | None
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    announced_at: dt.datetime | None
    quorum_override: bool
