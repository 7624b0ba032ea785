"""uploads carry an optional Idempotency-Key, unique per user

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.create_index("ux_submission_idempotency", "submission", ["user_id", "idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_submission_idempotency", table_name="submission")
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("idempotency_key")
