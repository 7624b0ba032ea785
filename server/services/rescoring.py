"""Asking for submissions to be scored again: a whole challenge (after its labels, split or scorer
changed, or on request) or one submission. The worker does it (runner.rescoring)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.challenges import spec_of
from core.models import Challenge, Rescore, Status, Submission, utcnow
from core.queue import ArqQueue
from core.scheduling import lanes_of, placement
from server.errors import Conflict
from server.services import audit
from server.services.accounts import Viewer
from server.services.submissions import staff_submission


async def start_rescore(
    session: AsyncSession,
    queue: ArqQueue,
    viewer: Viewer,
    challenge: Challenge,
    reason: str,
    submission_ids: list[int] | None = None,
) -> Rescore:
    """Rescore the given scored submissions (default: all of the challenge's); the caller has checked
    the viewer is an organiser. Audited in the same transaction."""
    assert challenge.id is not None
    if submission_ids is None:
        rows = await session.exec(
            select(Submission.id).where(
                Submission.challenge_id == challenge.id, Submission.status == Status.SCORED
            )
        )
        submission_ids = [i for i in rows if i is not None]
    rescore = Rescore(
        challenge_id=challenge.id, reason=reason[:200], requested_by=viewer.id, total=len(submission_ids)
    )
    if not submission_ids:
        rescore.finished_at = utcnow()
    session.add(rescore)
    await session.flush()
    audit.record(
        session,
        viewer,
        challenge,
        "rescore",
        reason[:200],
        None,
        {"rescore": rescore.id, "submissions": len(submission_ids)},
    )
    await session.commit()
    assert rescore.id is not None
    lanes = await lanes_of(session, submission_ids)
    for submission_id in submission_ids:  # if Redis drops some, the rescore stays unfinished: visible
        await queue.enqueue_rescore(rescore.id, submission_id, lanes[submission_id])
    return rescore


async def rescore_one(
    session: AsyncSession, queue: ArqQueue, viewer: Viewer, submission_id: int
) -> Submission:
    """A scored submission is rescored in place; a failed one (our failure, a scorer's, or the
    participant's) is evaluated again from the queue."""
    submission, challenge = await staff_submission(session, viewer, submission_id, organiser=True)
    if submission.status == Status.SCORED:
        await start_rescore(session, queue, viewer, challenge, f"submission {submission_id}", [submission_id])
        return submission
    if submission.status != Status.FAILED:
        raise Conflict(
            f"submission {submission_id} is {submission.status}; only a scored or failed one can be rescored"
        )
    before = {"status": submission.status, "failure": submission.failure}
    submission.status, submission.failure, submission.error = Status.QUEUED, None, None
    submission.attempts, submission.started_at, submission.finished_at = 0, None, None
    audit.record(
        session, viewer, challenge, "rescore", f"submission {submission_id}", before, {"status": "queued"}
    )
    await session.commit()
    where = await placement(session, submission, spec_of(challenge).phase_spec(submission.phase))
    await queue.enqueue_evaluation(submission_id, where, attempt=int(utcnow().timestamp()))
    return submission


async def recent_rescores(session: AsyncSession, challenge: Challenge, limit: int = 20) -> list[Rescore]:
    rows = await session.exec(
        select(Rescore)
        .where(Rescore.challenge_id == challenge.id)
        .order_by(col(Rescore.id).desc())
        .limit(limit)
    )
    return list(rows)
