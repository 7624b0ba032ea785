"""Cancelling a queued or running submission: it stops, and it uses no quota."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, Status, Submission, utcnow
from server.errors import Conflict, NotFound
from server.services import audit
from server.services.accounts import Viewer
from server.services.staff import access_to
from server.services.submissions import find_submission, is_member


async def cancel(session: AsyncSession, viewer: Viewer, submission_id: int) -> Submission:
    """By its challenge's staff, or by its own team. A running container is killed by the worker that
    runs it, which sees the submission is no longer `running` (runner.evaluation._kill_on_cancel);
    whatever it then finds is not written, since results are written only while `running`."""
    submission = await find_submission(session, submission_id)
    access = await access_to(session, viewer, submission.challenge_id if submission else None)
    if submission is None or not (access.is_staff or await is_member(session, viewer, submission.team_id)):
        raise NotFound(f"no submission {submission_id} that you can see")
    before = submission.status
    result = await session.exec(
        update(Submission)
        .where(
            col(Submission.id) == submission_id, col(Submission.status).in_([Status.QUEUED, Status.RUNNING])
        )
        .values(
            status=Status.CANCELLED,
            counts_toward_quota=False,
            finished_at=utcnow(),
            error=f"cancelled by {viewer.username}",
        )
    )
    if result.rowcount != 1:
        await session.rollback()
        raise Conflict(
            f"submission {submission_id} is {before}; only a queued or running one can be cancelled"
        )
    if access.is_staff:
        challenge = await session.get(Challenge, submission.challenge_id)
        assert challenge is not None
        audit.record(
            session,
            viewer,
            challenge,
            "submission.cancel",
            f"submission {submission_id}",
            {"status": before},
            {"status": Status.CANCELLED.value},
        )
    await session.commit()
    await session.refresh(submission)
    return submission
