"""personal API tokens: a name, a scope, an optional expiry and the last use of each token

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("token") as batch:
        batch.add_column(sa.Column("name", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=10), nullable=False, server_default="full"))
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch.alter_column("expires_at", existing_type=UTCDateTime(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM token WHERE expires_at IS NULL")
    with op.batch_alter_table("token") as batch:
        batch.alter_column("expires_at", existing_type=UTCDateTime(), nullable=False)
        batch.drop_column("last_used_at")
        batch.drop_column("scope")
        batch.drop_column("name")
