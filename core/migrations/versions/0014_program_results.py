"""scoring programs: a submission's detailed results page, and a failed scorer's output for staff

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.add_column(sa.Column("details_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("scorer_logs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.drop_column("scorer_logs")
        batch.drop_column("details_sha256")
