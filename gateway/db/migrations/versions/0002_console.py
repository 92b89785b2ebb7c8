"""Console: signed-in browser sessions; a motion's interim display setting.

Revision ID: 0002_console
Revises: 0002_trustb
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_console"
down_revision: str | Sequence[str] | None = "0002_trustb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen", UTC, nullable=False),
        sa.CheckConstraint(
            "role IN ('chair', 'clerk', 'technician', 'display')", name=op.f("ck_console_session_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
    )
    op.create_index(op.f("ix_console_session_user_name"), "console_session", ["user_name"])
    with op.batch_alter_table("motion") as batch:
        batch.add_column(sa.Column("interim", sa.String(length=24), nullable=False, server_default="totals"))
        batch.create_check_constraint("interim", "interim IN ('none', 'totals', 'totals_not_pressed')")
    with op.batch_alter_table("motion") as batch:
        batch.alter_column("interim", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("motion") as batch:
        batch.drop_constraint(op.f("ck_motion_interim"), type_="check")
        batch.drop_column("interim")
    op.drop_index(op.f("ix_console_session_user_name"), table_name="console_session")
    op.drop_table("console_session")
