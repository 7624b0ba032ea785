"""the submission record: each challenge's submissions as a hash chain, existing ones linked in order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.chain import GENESIS, Record

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chain_prev", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index("ux_submission_chain", "submission", ["challenge_id", "chain_seq"], unique=True)
    op.create_table(
        "challenge_chain",
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
    )
    _link_existing(op.get_bind())


def _link_existing(bind: sa.engine.Connection) -> None:
    """Existing submissions join the record in the order they arrived (time, then id)."""
    from core.models import UTCDateTime  # the column type reads times back as aware UTC

    submission = sa.table(
        "submission",
        sa.column("id", sa.Integer()), sa.column("challenge_id", sa.Integer()),
        sa.column("team_id", sa.Integer()), sa.column("sha256", sa.String()),
        sa.column("size", sa.Integer()), sa.column("created_at", UTCDateTime()),
        sa.column("chain_seq", sa.Integer()), sa.column("chain_prev", sa.String()),
        sa.column("chain_hash", sa.String()),
    )  # fmt: skip
    challenges = bind.execute(sa.text("SELECT id, slug FROM challenge")).all()
    for challenge_id, slug in challenges:
        rows = bind.execute(
            sa.select(
                submission.c.id, submission.c.team_id, submission.c.sha256, submission.c.size,
                submission.c.created_at,
            )
            .where(submission.c.challenge_id == challenge_id)
            .order_by(submission.c.created_at, submission.c.id)
        ).all()  # fmt: skip
        head = GENESIS
        for seq, (submission_id, team_id, sha256, size, created_at) in enumerate(rows, start=1):
            record = Record(slug, seq, submission_id, team_id, sha256, size, created_at, head)
            head = record.hash()
            bind.execute(
                submission.update()
                .where(submission.c.id == submission_id)
                .values(chain_seq=seq, chain_prev=record.prev_hash, chain_hash=head)
            )
        bind.execute(
            sa.text("INSERT INTO challenge_chain (challenge_id, length, head) VALUES (:id, :length, :head)"),
            {"id": challenge_id, "length": len(rows), "head": head},
        )


def downgrade() -> None:
    op.drop_table("challenge_chain")
    op.drop_index("ux_submission_chain", table_name="submission")
    with op.batch_alter_table("submission") as batch:
        for column in ("chain_hash", "chain_prev", "chain_seq"):
            batch.drop_column(column)
