"""run baselines: a bundle's model or code baseline, run by a worker after the bundle loads

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("baseline", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="predictions")
        )
        batch.add_column(sa.Column("file_format", sa.String(length=20), nullable=False, server_default="csv"))
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=False, server_default="scored"))
        batch.add_column(sa.Column("error", sa.String(length=4000), nullable=True))
        batch.add_column(sa.Column("updated_at", core.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("baseline", recreate="never") as batch:  # a copy would cascade (see 0008)
        for column in ("updated_at", "error", "state", "file_format", "kind"):
            batch.drop_column(column)
