"""Claiming a submission for a run: one conditional UPDATE, so at-least-once delivery (duplicated
jobs, a reconciler's re-enqueue, two workers) runs each submission once. A `running` one whose
worker went silent past its time can be claimed again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Status, Submission, utcnow


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
    result = await session.exec(
        update(Submission)
        .where(where)
        .values(status=Status.RUNNING, started_at=utcnow(), attempts=col(Submission.attempts) + 1)
    )
    await session.commit()
    return result.rowcount == 1


async def is_claimable(session: AsyncSession, submission_id: int, stale_after: timedelta) -> bool:
    count = await session.exec(
        select(func.count()).select_from(Submission).where(claimable(submission_id, stale_after))
    )
    return count.one() > 0
