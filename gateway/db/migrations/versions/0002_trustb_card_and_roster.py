"""Trust: the body setting for keypads without card readers.

Revision ID: 0002_trustb
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_trustb"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("body") as batch:
        batch.add_column(
            sa.Column("readerless_checkin_allowed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("body") as batch:
        batch.drop_column("readerless_checkin_allowed")
