"""index of final selections (the board reads them without scanning every submission)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_submission_final",
        "submission",
        ["challenge_id", "status"],
        unique=False,
        sqlite_where=sa.text("final = 1"),
        postgresql_where=sa.text("final"),
    )


def downgrade() -> None:
    op.drop_index("ix_submission_final", table_name="submission")
