"""Initial schema: roster, halls and devices, sittings, motions and rounds, ballots, record.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written to match gateway.db.models exactly; tests/gateway/db/test_migrations.py
checks that Alembic's autogenerate finds no difference on SQLite and on
PostgreSQL.  Types are plain SQLAlchemy types (UTCDateTime is a
``DateTime(timezone=True)`` underneath), so this file does not depend on the
models as they change later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)
NOT_REVOKED = sa.text("NOT revoked")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    # --- roster, halls, devices ------------------------------------------
    op.create_table(
        "body",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("quorum_numerator", sa.Integer(), nullable=False),
        sa.Column("quorum_denominator", sa.Integer(), nullable=False),
        sa.Column("quorum_strict", sa.Boolean(), nullable=False),
        sa.Column("quorum_override_allowed", sa.Boolean(), nullable=False),
        _id(),
        sa.CheckConstraint(
            "kind IN ('congress', 'presidium', 'standing_committee')", name=op.f("ck_body_kind")
        ),
        sa.CheckConstraint(
            "quorum_numerator > 0 AND quorum_denominator > quorum_numerator", name=op.f("ck_body_quorum")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body")),
        sa.UniqueConstraint("name", name=op.f("uq_body_name")),
    )
    op.create_table(
        "hall",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hall")),
    )
    op.create_table(
        "member",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_pinyin", sa.String(length=128), nullable=True),
        sa.Column("delegation", sa.String(length=64), nullable=True),
        sa.Column("card_uid", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _id(),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_member_body_id_body")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("body_id", "card_uid", name=op.f("uq_member_body_id_card_uid")),
    )
    op.create_index(op.f("ix_member_body_id"), "member", ["body_id"])
    op.create_table(
        "seat",
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("col", sa.Integer(), nullable=False),
        _id(),
        sa.Column("hall_id", sa.String(length=16), nullable=False),
        sa.CheckConstraint("length(label) BETWEEN 1 AND 8", name=op.f("ck_seat_label")),
        sa.CheckConstraint('"row" >= 1 AND col >= 1', name=op.f("ck_seat_position")),
        sa.ForeignKeyConstraint(["hall_id"], ["hall.id"], name=op.f("fk_seat_hall_id_hall")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat")),
        sa.UniqueConstraint("hall_id", "label", name=op.f("uq_seat_hall_id_label")),
        sa.UniqueConstraint("hall_id", "row", "col", name=op.f("uq_seat_hall_id_row_col")),
    )
    op.create_table(
        "device",
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("hall_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("broker_username", sa.String(length=64), nullable=False),
        sa.Column("firmware_version", sa.String(length=32), nullable=True),
        sa.Column("registered_at", UTC, nullable=False),
        sa.Column("last_seen", UTC, nullable=True),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("rssi", sa.Integer(), nullable=True),
        sa.Column("free_heap", sa.BigInteger(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(public_key) = 65", name=op.f("ck_device_public_key")),
        sa.CheckConstraint("NOT revoked OR revoked_at IS NOT NULL", name=op.f("ck_device_revoked_at")),
        sa.ForeignKeyConstraint(["hall_id"], ["hall.id"], name=op.f("fk_device_hall_id_hall")),
        sa.ForeignKeyConstraint(["seat_id"], ["seat.id"], name=op.f("fk_device_seat_id_seat")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device")),
        sa.UniqueConstraint("broker_username", name=op.f("uq_device_broker_username")),
    )
    op.create_index(op.f("ix_device_hall_id"), "device", ["hall_id"])
    # A seat has at most one device that is not revoked.
    op.create_index(
        op.f("uq_device_seat_id_active"),
        "device",
        ["seat_id"],
        unique=True,
        sqlite_where=NOT_REVOKED,
        postgresql_where=NOT_REVOKED,
    )

    # --- sittings, motions, rounds -----------------------------------------
    op.create_table(
        "sitting",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("late_checkin_allowed", sa.Boolean(), nullable=False),
        _id(),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("opened_at", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.CheckConstraint(
            "kind IN ('preparatory', 'presidium', 'plenary', 'standing_committee_plenary', 'joint_group')",
            name=op.f("ck_sitting_kind"),
        ),
        sa.CheckConstraint("state IN (0, 1, 2, 3)", name=op.f("ck_sitting_state")),
        sa.CheckConstraint("length(nonce) = 8", name=op.f("ck_sitting_nonce")),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_sitting_body_id_body")),
        sa.ForeignKeyConstraint(["hall_id"], ["hall.id"], name=op.f("fk_sitting_hall_id_hall")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sitting")),
        sa.UniqueConstraint("nonce", name=op.f("uq_sitting_nonce")),
    )
    op.create_index(op.f("ix_sitting_body_id"), "sitting", ["body_id"])
    op.create_index(op.f("ix_sitting_hall_id"), "sitting", ["hall_id"])
    op.create_table(
        "seat_assignment",
        sa.Column("seat_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _id(),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["seat_id"], ["seat.id"], name=op.f("fk_seat_assignment_seat_id_seat")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_seat_assignment_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sitting.id"], name=op.f("fk_seat_assignment_sitting_id_sitting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_assignment")),
        sa.UniqueConstraint("sitting_id", "seat_id", name=op.f("uq_seat_assignment_sitting_id_seat_id")),
        sa.UniqueConstraint("sitting_id", "member_id", name=op.f("uq_seat_assignment_sitting_id_member_id")),
    )
    op.create_table(
        "attendance",
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.String(length=16), nullable=True),
        sa.Column("counter", sa.BigInteger(), nullable=True),
        sa.Column("checked_in_at", UTC, nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sitting.id"], name=op.f("fk_attendance_sitting_id_sitting")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_attendance_member_id_member")),
        sa.ForeignKeyConstraint(["seat_id"], ["seat.id"], name=op.f("fk_attendance_seat_id_seat")),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.device_id"], name=op.f("fk_attendance_device_id_device")
        ),
        sa.PrimaryKeyConstraint("sitting_id", "member_id", name=op.f("pk_attendance")),
    )
    op.create_table(
        "motion",
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("ballot_kind", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("options", sa.Integer(), nullable=False),
        sa.Column("press_policy", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("countdown_s", sa.Integer(), nullable=True),
        sa.Column("passing_rule", sa.JSON(), nullable=True),
        sa.Column("select_k", sa.Integer(), nullable=True),
        _id(),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("ballot_kind IN (1, 2, 3)", name=op.f("ck_motion_ballot_kind")),
        sa.CheckConstraint("press_policy IN (1, 2)", name=op.f("ck_motion_press_policy")),
        sa.CheckConstraint("options BETWEEN 1 AND 255", name=op.f("ck_motion_options")),
        sa.CheckConstraint("countdown_s IS NULL OR countdown_s > 0", name=op.f("ck_motion_countdown")),
        sa.CheckConstraint("select_k IS NULL OR select_k > 0", name=op.f("ck_motion_select_k")),
        sa.ForeignKeyConstraint(["sitting_id"], ["sitting.id"], name=op.f("fk_motion_sitting_id_sitting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_motion")),
    )
    op.create_index(op.f("ix_motion_sitting_id"), "motion", ["sitting_id"])
    op.create_table(
        "round",
        _id(),
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("focus", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTC, nullable=True),
        sa.Column("deadline", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("announced_at", UTC, nullable=True),
        sa.Column("quorum_override", sa.Boolean(), nullable=False),
        sa.CheckConstraint("number BETWEEN 1 AND 255", name=op.f("ck_round_number")),
        sa.CheckConstraint(
            "state IN ('ready', 'open', 'paused', 'closed', 'announced')", name=op.f("ck_round_state")
        ),
        sa.CheckConstraint("length(nonce) = 8", name=op.f("ck_round_nonce")),
        sa.CheckConstraint("focus BETWEEN 0 AND 255", name=op.f("ck_round_focus")),
        sa.ForeignKeyConstraint(["motion_id"], ["motion.id"], name=op.f("fk_round_motion_id_motion")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round")),
        sa.UniqueConstraint("motion_id", "number", name=op.f("uq_round_motion_id_number")),
        sa.UniqueConstraint("nonce", name=op.f("uq_round_nonce")),
    )

    # --- ballots, accepted frames, results ---------------------------------
    op.create_table(
        "named_ballot",
        _id(),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("choices", sa.LargeBinary(), nullable=False),
        sa.Column("item_counters", sa.JSON(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.CheckConstraint("length(choices) BETWEEN 1 AND 32", name=op.f("ck_named_ballot_choices")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_named_ballot_round_id_round")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_named_ballot_member_id_member")),
        sa.ForeignKeyConstraint(["seat_id"], ["seat.id"], name=op.f("fk_named_ballot_seat_id_seat")),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.device_id"], name=op.f("fk_named_ballot_device_id_device")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_named_ballot")),
        sa.UniqueConstraint("round_id", "member_id", name=op.f("uq_named_ballot_round_id_member_id")),
    )
    op.create_index(op.f("ix_named_ballot_device_id"), "named_ballot", ["device_id"])
    # Secret rounds: no table below but secret_pending (deleted at close) holds a choice
    # next to a member.  WITHOUT ROWID on SQLite: no rowid records the order of presses.
    op.create_table(
        "secret_participation",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["round.id"], name=op.f("fk_secret_participation_round_id_round")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_secret_participation_member_id_member")
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_secret_participation")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "secret_tally",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("choice", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("item BETWEEN 0 AND 31", name=op.f("ck_secret_tally_item")),
        sa.CheckConstraint("choice BETWEEN 0 AND 15", name=op.f("ck_secret_tally_choice")),
        sa.CheckConstraint('"count" >= 0', name=op.f("ck_secret_tally_count")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_secret_tally_round_id_round")),
        sa.PrimaryKeyConstraint("round_id", "item", "choice", name=op.f("pk_secret_tally")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "secret_pending",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("choices", sa.LargeBinary(), nullable=False),
        sa.Column("item_counters", sa.JSON(), nullable=True),
        sa.CheckConstraint("length(choices) BETWEEN 1 AND 32", name=op.f("ck_secret_pending_choices")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_secret_pending_round_id_round")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_secret_pending_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.device_id"], name=op.f("fk_secret_pending_device_id_device")
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_secret_pending")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "accepted_frame",
        sa.Column("device_id", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("frame_type", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("counter >= 0", name=op.f("ck_accepted_frame_counter")),
        sa.CheckConstraint("digest IS NULL OR length(digest) = 32", name=op.f("ck_accepted_frame_digest")),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.device_id"], name=op.f("fk_accepted_frame_device_id_device")
        ),
        sa.PrimaryKeyConstraint("device_id", "counter", name=op.f("pk_accepted_frame")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_accepted_frame_ref"), "accepted_frame", ["frame_type", "ref_id", "round"])
    op.create_table(
        "result",
        sa.Column("round_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("item_outcomes", sa.JSON(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("not_pressed", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("rule_zh", sa.Text(), nullable=False),
        sa.Column("rule_en", sa.Text(), nullable=False),
        sa.Column("frozen_at", UTC, nullable=False),
        sa.CheckConstraint(
            "present <= expected AND not_pressed <= present AND not_pressed >= 0",
            name=op.f("ck_result_counts"),
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_result_round_id_round")),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_result")),
    )

    # --- the record --------------------------------------------------------
    op.create_table(
        "rating_record",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        _id(),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 4", name=op.f("ck_rating_record_grade")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_rating_record_member_id_member")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_record")),
        sa.UniqueConstraint("member_id", "year", name=op.f("uq_rating_record_member_id_year")),
    )
    # seq: SQLite AUTOINCREMENT (never reused), a serial sequence on PostgreSQL.
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "length(prev_hash) = 64 AND length(hash) = 64", name=op.f("ck_audit_event_hash_length")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in (
        "audit_event",
        "rating_record",
        "result",
        "accepted_frame",
        "secret_pending",
        "secret_tally",
        "secret_participation",
        "named_ballot",
        "round",
        "motion",
        "attendance",
        "seat_assignment",
        "sitting",
        "device",
        "seat",
        "member",
        "hall",
        "body",
    ):
        op.drop_table(table)
