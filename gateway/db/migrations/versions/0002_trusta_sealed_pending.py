"""Secret pending choices sealed under a per-round key on PostgreSQL: ``secret_pending.sealed``.

Revision ID: 0002_trusta
Revises: 0002_console
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_trusta"
down_revision: str | Sequence[str] | None = "0002_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("secret_pending", sa.Column("sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("secret_pending") as batch:
        batch.drop_column("sealed")
