"""phases: submissions, files, each team's best, baselines and uncertainty belong to a phase

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 21:00:00

A challenge without phases is one phase, `main`: every existing row joins it. Three tables gain the
phase in their key. SQLite cannot change a key in place, so each is rebuilt: created anew, filled,
and put in the old one's place (none is referenced by another table, so nothing cascades).
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

import core.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_PHASE = "main"


def _phase() -> sa.Column:
    return sa.Column("phase", sa.String(length=40), nullable=False, server_default=ONE_PHASE)


def _challengefile(phased: bool) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        *([_phase()] if phased else []),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenge.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("challenge_id", "phase", "role")
        if phased
        else sa.UniqueConstraint("challenge_id", "role"),
    ]


def _teambest(phased: bool) -> list[SchemaItem]:
    return [
        sa.Column("team_id", sa.Integer(), nullable=False),
        *([_phase()] if phased else []),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("public_score", sa.Float(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenge.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "phase") if phased else sa.PrimaryKeyConstraint("team_id"),
    ]


def _baseline(phased: bool) -> list[SchemaItem]:
    return [
        sa.Column(
            "challenge_id", sa.Integer(), sa.ForeignKey("challenge.id", ondelete="CASCADE"), nullable=False
        ),
        *([_phase()] if phased else []),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=60), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False, server_default="predictions"),
        sa.Column("file_format", sa.String(length=20), nullable=False, server_default="csv"),
        sa.Column("state", sa.String(length=20), nullable=False, server_default="scored"),
        sa.Column("error", sa.String(length=4000), nullable=True),
        sa.Column("updated_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("public_score", sa.Float(), nullable=True),
        sa.Column("private_score", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("challenge_id", "phase", "name")
        if phased
        else sa.PrimaryKeyConstraint("challenge_id", "name"),
    ]


TABLES: dict[str, tuple[Callable[[bool], list[SchemaItem]], list[str]]] = {
    "challengefile": (_challengefile, ["challenge_id"]),
    "teambest": (_teambest, ["challenge_id"]),
    "baseline": (_baseline, []),
}


def _rebuild(name: str, phased: bool) -> None:
    shape, indexed = TABLES[name]
    items = shape(phased)
    columns = [c.name for c in items if isinstance(c, sa.Column) and c.name != "phase"]
    listed = ", ".join(columns)
    op.create_table(f"{name}_rebuilt", *items)
    kept = "" if phased else f" WHERE phase = '{ONE_PHASE}'"  # a downgrade keeps the one phase it knew
    into, values = (f"{listed}, phase", f"{listed}, '{ONE_PHASE}'") if phased else (listed, listed)
    op.execute(f"INSERT INTO {name}_rebuilt ({into}) SELECT {values} FROM {name}{kept}")
    for column in indexed:
        op.drop_index(f"ix_{name}_{column}", table_name=name)
    op.drop_table(name)
    op.rename_table(f"{name}_rebuilt", name)
    for column in indexed:
        op.create_index(f"ix_{name}_{column}", name, [column], unique=False)
    if name == "challengefile" and op.get_bind().dialect.name == "postgresql":
        # The rows kept their ids: the id sequence goes on after them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('challengefile', 'id'), "
            "COALESCE((SELECT MAX(id) FROM challengefile), 0) + 1, false)"
        )


def upgrade() -> None:
    for name in TABLES:
        _rebuild(name, phased=True)
    for table in ("submission", "entry_uncertainty"):
        with op.batch_alter_table(table, recreate="never") as batch:  # a copy would cascade (see 0008)
            batch.add_column(_phase())
    op.create_table(
        "phase_start",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("migrated", sa.Integer(), nullable=False),
        sa.Column("at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenge.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("challenge_id", "phase"),
    )


def downgrade() -> None:
    op.drop_table("phase_start")
    for table in ("entry_uncertainty", "submission"):
        with op.batch_alter_table(table, recreate="never") as batch:  # a copy would cascade (see 0008)
            batch.drop_column("phase")
    for name in TABLES:
        _rebuild(name, phased=False)
