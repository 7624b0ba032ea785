"""baselines: a bundle's reference prediction files, scored at load, shown on the boards unranked

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "baseline",
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("filename", sa.String(length=60), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("public_score", sa.Float(), nullable=True),
        sa.Column("private_score", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("baseline")
