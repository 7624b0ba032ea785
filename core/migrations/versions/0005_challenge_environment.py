"""challenge environments: a challenge's own packages, resolved and built in the background

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenge_environment",
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("requested", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("lock", sa.Text(), nullable=True),
        sa.Column("image", sa.String(length=200), nullable=True),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("challenge_environment")
