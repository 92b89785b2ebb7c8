"""Ballots and what is kept of them; accepted frames; results.

Named (记名) motions
    :class:`NamedBallot` keeps each member's choices: one row per round and
    member (under the last-press policy the row is overwritten).

Secret (无记名) motions.  The rule (ARCHITECTURE.md, "Secret ballots"):
after a secret round closes, nothing stored links a member, seat or device
to a choice.  What is kept:

* :class:`SecretParticipation` (round, member): who took part.  No choice.
* :class:`SecretTally` (round, item, choice, count): totals.  No member.

:class:`SecretPending` is **transient**.  While a secret round is open or
paused the gateway must make every accepted press durable before it acks
(a crash must not lose it), and under the last-press policy it must know
each member's current choice to replace it.  SecretPending holds exactly
that, (round, member, device, counter, choices), so it *does* link a member
to a choice, and may exist only while the round is open.  Closing a secret
round is one transaction:

1. read the round's SecretPending rows and compute the totals;
2. insert the SecretTally rows and the SecretParticipation rows, all at
   once and in member-id order, so neither row order nor transaction ids
   follow the order of the presses;
3. DELETE the round's SecretPending rows;
4. set ``AcceptedFrame.digest`` to NULL for the round's vote frames (a hash
   of a signed vote frame is easily matched against the few possible
   choices);
5. commit, then purge (gateway.store.purge) so the deleted bytes leave the
   files too: SQLite runs with ``secure_delete=ON`` (freed cells are
   zeroed) and the WAL is checkpointed and truncated (retried until no
   reader holds it); on PostgreSQL the pending choices were only ever
   stored sealed under a per-round key kept outside the database
   (gateway.store.secretkeys), and the key file is destroyed.

After a crash while the round is open, the gateway rebuilds the round from
SecretPending; a crash during the close either committed (no pending rows
remain) or did not (all remain, and the close is redone).

On SQLite the secret tables and ``accepted_frame`` are ``WITHOUT ROWID``:
rows are stored in primary-key order, and no rowid records arrival order.
"""

import datetime as dt
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..types import UTCDateTime, utcnow
from . import _meta  # noqa: F401  (naming convention before any table)

__all__ = [
    "AcceptedFrame",
    "ManualCount",
    "NamedBallot",
    "NamedBallotPublic",
    "Result",
    "ResultPublic",
    "SecretParticipation",
    "SecretPending",
    "SecretTally",
    "SecretTallyPublic",
]

_CHOICES_CHECK = "length(choices) BETWEEN 1 AND 32"


class NamedBallot(SQLModel, table=True):
    """A member's choices in one round of a named motion: one byte per item, a choice code each.

    ``counter`` is the frame that last set the ballot; ``item_counters`` (a
    JSON list, one per item) the frame that set each item, for presses
    made item by item (gateway.core.state.Ballot).
    """

    __tablename__ = "named_ballot"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id"),
        CheckConstraint(_CHOICES_CHECK, name="choices"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    member_id: int = Field(foreign_key="member.id")
    seat_id: int = Field(foreign_key="seat.id")
    device_id: str = Field(foreign_key="device.device_id", max_length=16, index=True)
    counter: int = Field(sa_type=BigInteger)
    choices: bytes = Field(sa_type=LargeBinary)
    item_counters: list[int] | None = Field(default=None, sa_type=JSON)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NamedBallotPublic(SQLModel):
    round_id: int
    member_id: int
    seat_id: int
    device_id: str
    choices: list[int]
    recorded_at: dt.datetime

    @field_validator("choices", mode="before")
    @classmethod
    def _choices(cls, value: Any) -> Any:
        return list(value) if isinstance(value, bytes | bytearray) else value


class SecretParticipation(SQLModel, table=True):
    """A member took part in a secret round.  Deliberately no choice, seat, device or time."""

    __tablename__ = "secret_participation"
    __table_args__ = {"sqlite_with_rowid": False}
    round_id: int = Field(foreign_key="round.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)


class SecretTally(SQLModel, table=True):
    """Totals of a closed secret round: how many pressed ``choice`` on item ``item`` (0-based)."""

    __tablename__ = "secret_tally"
    __table_args__ = (
        CheckConstraint("item BETWEEN 0 AND 31", name="item"),
        CheckConstraint("choice BETWEEN 0 AND 15", name="choice"),
        CheckConstraint('"count" >= 0', name="count"),
        {"sqlite_with_rowid": False},
    )
    round_id: int = Field(foreign_key="round.id", primary_key=True)
    item: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    choice: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    count: int


class SecretTallyPublic(SQLModel):
    round_id: int
    item: int
    choice: int
    count: int


class SecretPending(SQLModel, table=True):
    """TRANSIENT: a member's current choices in an OPEN secret round.  Deleted at close.

    See the module docstring for the close procedure.  Never exposed by the API.
    """

    __tablename__ = "secret_pending"
    __table_args__ = (
        CheckConstraint(_CHOICES_CHECK, name="choices"),
        {"sqlite_with_rowid": False},
    )
    round_id: int = Field(foreign_key="round.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    device_id: str = Field(foreign_key="device.device_id", max_length=16)
    counter: int = Field(sa_type=BigInteger)
    choices: bytes = Field(sa_type=LargeBinary)
    item_counters: list[int] | None = Field(default=None, sa_type=JSON)
    # PostgreSQL: choices and item counters sealed under the round's key (gateway.store.secretkeys);
    # then ``choices`` holds only zero bytes of the ballot's length and ``item_counters`` is NULL.
    sealed: bytes | None = Field(default=None, sa_type=LargeBinary)


class AcceptedFrame(SQLModel, table=True):
    """An accepted uplink frame, so a retransmission is re-acked and never counted twice.

    ``ref_id`` and ``round`` are the ack's fields (motion id and round number
    for a vote, sitting id for a check-in, else 0); ``reason`` the ack's
    reason code.  ``digest`` is SHA-256 of the whole wire frame, to tell an
    exact retransmission from a reused counter; it is set to NULL for the
    vote frames of a secret round when the round closes.  No choice column.
    """

    __tablename__ = "accepted_frame"
    __table_args__ = (
        Index("ix_accepted_frame_ref", "frame_type", "ref_id", "round"),
        CheckConstraint("counter >= 0", name="counter"),
        CheckConstraint("digest IS NULL OR length(digest) = 32", name="digest"),
        {"sqlite_with_rowid": False},
    )
    device_id: str = Field(foreign_key="device.device_id", primary_key=True, max_length=16)
    counter: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    frame_type: int
    reason: int = 0
    ref_id: int = Field(default=0, sa_type=BigInteger)
    round: int = 0
    digest: bytes | None = Field(default=None, sa_type=LargeBinary)


class Result(SQLModel, table=True):
    """The frozen result of a round, as announced (protocol result-summary).

    ``counts`` holds one list per item: [yes, no, abstain] or, for ratings,
    the four grade counts; ``item_outcomes`` one outcome code per item
    (protocol.consts OUTCOME_*, or the carrying grade for ratings);
    ``not_pressed`` is present minus members with an accepted vote.
    ``rule_zh`` / ``rule_en`` state the rule that was applied.
    """

    __table_args__ = (
        CheckConstraint("present <= expected AND not_pressed <= present AND not_pressed >= 0", name="counts"),
    )
    round_id: int = Field(foreign_key="round.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    counts: list[list[int]] = Field(sa_type=JSON)
    item_outcomes: list[int] = Field(sa_type=JSON)
    expected: int
    present: int
    not_pressed: int
    outcome: int
    rule_zh: str = Field(sa_type=Text)
    rule_en: str = Field(sa_type=Text)
    frozen_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ResultPublic(SQLModel):
    round_id: int
    counts: list[list[int]]
    item_outcomes: list[int]
    expected: int
    present: int
    not_pressed: int
    outcome: int
    rule_zh: str
    rule_en: str
    frozen_at: dt.datetime


class ManualCount(SQLModel, table=True):
    """Counts entered by hand for a round whose keypads failed (show of hands or paper), one row per entry.

    ``status`` is pending until the other person confirms or rejects it; a
    newer entry for the same round makes a pending one ``replaced``.  The
    confirmed entry is the round's result (it replaces any keypad tally).
    ``counts`` holds one list per item, like :class:`Result`.
    """

    __tablename__ = "manual_count"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'replaced')", name="status"),
        CheckConstraint("method IN ('show_of_hands', 'paper')", name="method"),
        CheckConstraint("present <= expected AND present >= 0", name="counts"),
        Index("ix_manual_count_round", "round_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    status: str = Field(max_length=16)
    method: str = Field(max_length=16)
    reason: str = Field(sa_type=Text)
    counts: list[list[int]] = Field(sa_type=JSON)
    expected: int
    present: int
    entered_by: str = Field(max_length=64)
    entered_role: str = Field(max_length=16)
    entered_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str | None = Field(default=None, sa_type=Text)
