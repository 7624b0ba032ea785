"""Claiming a submission for a run: one conditional UPDATE, so at-least-once delivery (duplicated
jobs, a reconciler's re-enqueue, two workers) runs each submission once. A `running` one whose
worker went silent past its time can be claimed again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import Kind
from core.db import outside_transaction, target_column
from core.models import Challenge, Status, Submission, utcnow
from core.workers import worker_id


def _started(started_at: Any = None) -> dict[str, Any]:
    """What claiming a submission writes on its row: started now, or at `started_at` (a bound
    parameter of a statement built once), by this worker."""
    return {
        "status": Status.RUNNING,
        "started_at": utcnow() if started_at is None else started_at,
        "attempts": col(Submission.attempts) + 1,
        "worker": worker_id(),
    }


def claimable(submission_id: int, stale_after: timedelta) -> ColumnElement[bool]:
    stale = (col(Submission.status) == Status.RUNNING) & (col(Submission.started_at) < utcnow() - stale_after)
    return (col(Submission.id) == submission_id) & ((col(Submission.status) == Status.QUEUED) | stale)


async def claim(
    session: AsyncSession,
    submission_id: int,
    stale_after: timedelta,
    *,
    only_if: ColumnElement[bool] | None = None,
) -> bool:
    """Mark the submission running, if it is claimable (and `only_if` holds); commits."""
    where = claimable(submission_id, stale_after)
    if only_if is not None:
        where &= only_if
    result = await session.exec(update(Submission).where(where).values(_started()))
    await session.commit()
    return result.rowcount == 1


async def is_claimable(session: AsyncSession, submission_id: int, stale_after: timedelta) -> bool:
    count = await session.exec(
        select(func.count()).select_from(Submission).where(claimable(submission_id, stale_after))
    )
    return count.one() > 0


@dataclass(frozen=True, slots=True)
class ClaimedFile:
    """A prediction file just claimed: what scoring it needs of its row, and its challenge's version."""

    challenge_id: int
    team_id: int
    file_format: str
    sha256: str
    created_at: datetime
    filename: str
    phase: str
    challenge_version: datetime


@lru_cache(maxsize=1)
def _claim_file_statement() -> Update:
    """The claim of a queued prediction file, built once (every upload runs it: building it per call
    cost more than its round trip). A Core statement on the table: no ORM state to keep in step."""
    table = Submission.__table__
    version = (
        select(Challenge.updated_at)
        .where(Challenge.id == target_column(table.c.challenge_id))
        .scalar_subquery()
    )
    return (
        update(table)
        .where(
            table.c.id == bindparam("submission_id"),
            table.c.status == Status.QUEUED,
            table.c.kind == Kind.PREDICTIONS,
        )
        .values(_started(bindparam("now")))
        .returning(
            table.c.challenge_id,
            table.c.team_id,
            table.c.file_format,
            table.c.sha256,
            table.c.created_at,
            table.c.filename,
            table.c.phase,
            version,
        )
    )


async def claim_queued_file(session: AsyncSession, submission_id: int) -> ClaimedFile | None:
    """Claim a queued prediction file and read what scoring it needs, in one statement; commits.

    The common case of every upload. None: not a queued prediction file (finished, claimed, stale,
    or another kind), for `claim` to decide.
    """
    # One round trip to the database instead of three (BEGIN, it, COMMIT): the session's first use.
    await outside_transaction(session)
    connection = await session.connection()
    result = await connection.execute(
        _claim_file_statement(), {"submission_id": submission_id, "now": utcnow()}
    )
    row = result.first()
    await session.commit()
    return ClaimedFile(*row) if row is not None else None
