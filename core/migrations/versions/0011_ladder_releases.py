"""ladder releases: a submission whose public score the Ladder released, indexed for the boards

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.add_column(sa.Column("released", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_submission_released",
        "submission",
        ["challenge_id", "team_id"],
        unique=False,
        sqlite_where=sa.text("released = 1"),
        postgresql_where=sa.text("released"),
    )


def downgrade() -> None:
    op.drop_index("ix_submission_released", table_name="submission")
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.drop_column("released")
