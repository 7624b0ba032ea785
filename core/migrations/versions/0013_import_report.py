"""import report: what a bundle imported from another platform could not honour, for its organisers

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.add_column(
            sa.Column("import_report", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("challenge", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.drop_column("import_report")
