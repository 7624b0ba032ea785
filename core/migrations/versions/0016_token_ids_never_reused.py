"""token ids are never reused on SQLite (AUTOINCREMENT)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 00:30:00

SQLite gives a new row the largest id plus one unless the table says AUTOINCREMENT: the token revoked
last had its id given to the next one, so a stale `DELETE /api/me/tokens/{id}` could revoke a token
made since. PostgreSQL's sequences never go back: nothing to do there. SQLite cannot change this in
place, so the table is rebuilt with its rows, indexes and keys.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "token", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
