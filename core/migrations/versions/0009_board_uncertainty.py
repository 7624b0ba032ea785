"""board uncertainty: each submission's kept predictions, each entry's bootstrap scores, and what
the last pass found (intervals, ties with the leader, rank intervals)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.add_column(sa.Column("predictions_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "bootstrap_scores",
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submission.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("public", sa.LargeBinary(), nullable=False),
        sa.Column("private", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "entry_uncertainty",
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("board", sa.String(length=10), primary_key=True),
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submission.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("tied_with_leader", sa.Boolean(), nullable=False),
        sa.Column("rank_low", sa.Integer(), nullable=False),
        sa.Column("rank_high", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entry_uncertainty")
    op.drop_table("bootstrap_scores")
    with op.batch_alter_table("submission", recreate="never") as batch:  # a copy would cascade (see 0008)
        batch.drop_column("predictions_sha256")
