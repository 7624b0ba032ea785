"""per-group scores: each challenge's group sizes in its public and private subsets, for its page

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge", recreate="never") as batch:
        batch.add_column(sa.Column("group_sizes", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    # Never a copy of the table on SQLite: dropping the old `challenge` would cascade to every row that
    # references it (staff, teams, submissions). SQLite 3.35+ drops a column in place.
    with op.batch_alter_table("challenge", recreate="never") as batch:
        batch.drop_column("group_sizes")
