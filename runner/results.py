"""Writing an evaluation's result: the submission's row and its team's best, in the caller's transaction.

Idempotent under at-least-once delivery: a result is written only while the submission is still
`running` (ours), and the team's best is one upsert that keeps the better, or equal and earlier, entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Insert, Update, bindparam, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Disqualification, FailureKind, Status, Submission, TeamBest, utcnow


class ScoredEntry(Protocol):
    """What the team's best needs to know of a scored submission."""

    @property
    def id(self) -> int | None: ...
    @property
    def team_id(self) -> int: ...
    @property
    def challenge_id(self) -> int: ...
    @property
    def phase(self) -> str: ...
    @property
    def public_score(self) -> float | None: ...
    @property
    def created_at(self) -> datetime: ...


BEST_COLUMNS = ("team_id", "phase", "challenge_id", "submission_id", "public_score", "created_at")


@lru_cache(maxsize=4)
def _best_upsert(dialect: str, higher_is_better: bool) -> Insert:
    """The team's-best upsert, built once per database and direction (every submission runs it: a
    statement built per call cost more than its round trip); its values are bound at execution."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = TeamBest.__table__
    statement = insert(table).values({name: bindparam(name) for name in BEST_COLUMNS})
    new, old = statement.excluded, table.c
    better = new.public_score > old.public_score if higher_is_better else new.public_score < old.public_score
    earlier = (new.public_score == old.public_score) & (
        (new.created_at < old.created_at)
        | ((new.created_at == old.created_at) & (new.submission_id < old.submission_id))
    )
    return statement.on_conflict_do_update(
        index_elements=[old.team_id, old.phase],
        set_={
            "submission_id": new.submission_id,
            "public_score": new.public_score,
            "created_at": new.created_at,
        },
        where=better | earlier,
    )


async def record_best(session: AsyncSession, entry: ScoredEntry, *, higher_is_better: bool) -> None:
    """Keep the team's best public submission, atomically (two workers may score one team at once).

    Part of the caller's transaction. Better score wins; on a tie the earlier submission stays.
    """
    if entry.public_score is None or entry.id is None:
        return
    connection = await session.connection()
    await connection.execute(
        _best_upsert(connection.dialect.name, higher_is_better),
        {
            "team_id": entry.team_id,
            "phase": entry.phase,
            "challenge_id": entry.challenge_id,
            "submission_id": entry.id,
            "public_score": entry.public_score,
            "created_at": entry.created_at,
        },
    )


@dataclass(frozen=True, slots=True)
class Written:
    disqualified: bool  # while it waited: scored for the record, but never its team's best


@lru_cache(maxsize=32)
def _write_statement(columns: tuple[str, ...]) -> Update:
    """The result's write for one set of columns, built once (every submission runs one: building it
    per call cost more than its round trip); it says in the same statement whether the submission
    was disqualified while it waited."""
    table = Submission.__table__
    # Bound, not correlated: SQLite renders a RETURNING clause's columns without their table, even
    # inside a subquery, where a bare `id` binds to the disqualification's own (see core.db.target_column).
    disqualified = (
        select(Disqualification.id)
        .where(col(Disqualification.submission_id) == bindparam("submission_id"))
        .exists()
    )
    return (
        update(table)
        .where(table.c.id == bindparam("submission_id"), table.c.status == Status.RUNNING)
        .values({name: bindparam(f"v_{name}") for name in columns})
        .returning(disqualified)
    )


async def write_result(session: AsyncSession, submission_id: int, **values: Any) -> Written | None:
    """Write the result if the submission is still ours (running), and say whether it has been
    disqualified, in one statement; None if it was not ours. The caller commits."""
    values = {"finished_at": utcnow(), **values}
    columns = tuple(sorted(values))
    connection = await session.connection()
    result = await connection.execute(
        _write_statement(columns),
        {"submission_id": submission_id, **{f"v_{name}": values[name] for name in columns}},
    )
    row = result.first()
    return None if row is None else Written(disqualified=bool(row[0]))


async def write_failure(
    session: AsyncSession, submission_id: int, failure: FailureKind, message: str, record: dict[str, Any]
) -> bool:
    """A failed evaluation: only the participant's code that ran and failed uses quota."""
    written = await write_result(
        session,
        submission_id,
        status=Status.FAILED,
        error=message[:4000],
        failure=failure,
        counts_toward_quota=failure.uses_quota,
        **record,
    )
    await session.commit()
    return written is not None
