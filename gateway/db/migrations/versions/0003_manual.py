"""Manual fallback: counts entered by hand when keypads fail; the round state 'manual'.

Revision ID: 0003_manual
Revises: 0002_trusta
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_manual"
down_revision: str | Sequence[str] | None = "0002_trusta"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)
_OLD = "state IN ('ready', 'open', 'paused', 'closed', 'announced')"
_NEW = "state IN ('ready', 'open', 'paused', 'closed', 'announced', 'manual')"


def upgrade() -> None:
    op.create_table(
        "manual_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_role", sa.String(length=16), nullable=False),
        sa.Column("entered_at", UTC, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected', 'replaced')", name=op.f("ck_manual_count_status")
        ),
        sa.CheckConstraint("method IN ('show_of_hands', 'paper')", name=op.f("ck_manual_count_method")),
        sa.CheckConstraint("present <= expected AND present >= 0", name=op.f("ck_manual_count_counts")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_manual_count_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_count")),
    )
    op.create_index("ix_manual_count_round", "manual_count", ["round_id", "status"])
    with op.batch_alter_table("round") as batch:
        batch.drop_constraint(op.f("ck_round_state"), type_="check")
        batch.create_check_constraint("state", _NEW)


def downgrade() -> None:
    op.execute("UPDATE round SET state = 'closed' WHERE state = 'manual'")
    with op.batch_alter_table("round") as batch:
        batch.drop_constraint(op.f("ck_round_state"), type_="check")
        batch.create_check_constraint("state", _OLD)
    op.drop_index("ix_manual_count_round", table_name="manual_count")
    op.drop_table("manual_count")
