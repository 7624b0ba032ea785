"""staff per challenge, the challenge lifecycle, disqualifications, staff notes, rescores and the audit log

Platform judges and organisers of an existing installation become staff of every existing
challenge (what they could see before), and existing challenges are published.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge") as batch:
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=False, server_default="published"))
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("revealed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_challenge_created_by", "user", ["created_by"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("staff_test", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("rescore_id", sa.Integer(), nullable=True))
    op.create_table(
        "rescore",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_rescore_challenge_id", "rescore", ["challenge_id"])
    op.create_table(
        "challenge_staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("challenge_id", "user_id"),
    )
    op.create_index("ix_challenge_staff_challenge_id", "challenge_staff", ["challenge_id"])
    op.create_index("ix_challenge_staff_user_id", "challenge_staff", ["user_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("challenge_slug", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_audit_challenge_at", "audit_event", ["challenge_id", "id"])
    for table in ("disqualification", "staff_note"):
        extra = (
            [
                sa.Column("reason", sa.String(length=1000), nullable=False),
                sa.Column(
                    "created_by", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True
                ),
            ]
            if table == "disqualification"
            else [
                sa.Column(
                    "author_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True
                ),
                sa.Column("author", sa.String(length=40), nullable=False),
                sa.Column("text", sa.Text(), nullable=False),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "challenge_id",
                sa.Integer(),
                sa.ForeignKey("challenge.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id", ondelete="CASCADE"), nullable=True),
            sa.Column(
                "submission_id",
                sa.Integer(),
                sa.ForeignKey("submission.id", ondelete="CASCADE"),
                nullable=True,
            ),
            *extra,
            sa.Column("created_at", UTCDateTime(), nullable=False),
        )
        for column in ("challenge_id", "team_id", "submission_id"):
            op.create_index(f"ix_{table}_{column}", table, [column])
    # What platform judges and organisers could see before, they keep: staff of every existing challenge.
    op.execute(
        "INSERT INTO challenge_staff (challenge_id, user_id, role, added_at) "
        'SELECT c.id, u.id, u.role, CURRENT_TIMESTAMP FROM challenge c CROSS JOIN "user" u '
        "WHERE u.role IN ('judge', 'organiser')"
    )
    op.execute("UPDATE \"user\" SET role = 'participant' WHERE role = 'judge'")


def downgrade() -> None:
    op.execute(
        "UPDATE \"user\" SET role = 'judge' WHERE role = 'participant' AND id IN "
        "(SELECT user_id FROM challenge_staff WHERE role = 'judge')"
    )
    for table in ("rescore", "staff_note", "disqualification", "audit_event", "challenge_staff"):
        op.drop_table(table)
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("rescore_id")
        batch.drop_column("staff_test")
    with op.batch_alter_table("challenge") as batch:
        batch.drop_constraint("fk_challenge_created_by", type_="foreignkey")
        for column in ("created_by", "revealed_at", "closed_at", "state"):
            batch.drop_column(column)
