"""Claiming a submission for a run: one conditional UPDATE, so at-least-once delivery (duplicated
jobs, a reconciler's re-enqueue, two workers) runs each submission once. A `running` one whose
worker went silent past its time can be claimed again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import Kind
from core.models import Challenge, Status, Submission, utcnow


def _started() -> dict[str, Any]:
    """What claiming a submission writes on its row."""
    return {"status": Status.RUNNING, "started_at": utcnow(), "attempts": col(Submission.attempts) + 1}


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


async def claim_queued_file(session: AsyncSession, submission_id: int) -> ClaimedFile | None:
    """Claim a queued prediction file and read what scoring it needs, in one statement; commits.

    The common case of every upload. None: not a queued prediction file (finished, claimed, stale,
    or another kind), for `claim` to decide.
    """
    version = select(Challenge.updated_at).where(Challenge.id == Submission.challenge_id).scalar_subquery()
    result = await session.exec(
        update(Submission)
        .where(
            col(Submission.id) == submission_id,
            col(Submission.status) == Status.QUEUED,
            col(Submission.kind) == Kind.PREDICTIONS,
        )
        .values(_started())
        .returning(
            col(Submission.challenge_id),
            col(Submission.team_id),
            col(Submission.file_format),
            col(Submission.sha256),
            col(Submission.created_at),
            col(Submission.filename),
            col(Submission.phase),
            version,
        )
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    await session.commit()
    return ClaimedFile(*row) if row is not None else None
