"""The reconciler: finds submissions the queue has lost (Redis restarted, a worker died) and enqueues them again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from challenges.spec import ChallengeSpec, Kind
from core.challenges import spec_of
from core.db import SessionMaker
from core.models import Challenge, Status, Submission, utcnow
from core.queue import EvaluationQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stuck:
    submission_id: int
    attempts: int


def stale_after(spec: ChallengeSpec, kind: Kind, base: timedelta) -> timedelta:
    """How long a submission may stay `running` before it is presumed lost: sandbox runs get their limit."""
    runs = (kind is not Kind.PREDICTIONS) + (spec.scorer is not None)
    return base + runs * timedelta(seconds=2 * spec.limits.time_s)


async def find_stuck(sessions: SessionMaker, *, older_than: timedelta, limit: int = 500) -> list[Stuck]:
    now = utcnow()
    cutoff = now - older_than
    async with sessions() as session:
        rows = await session.exec(
            select(Submission, Challenge)
            .join(Challenge, col(Challenge.id) == Submission.challenge_id)
            .where(
                ((col(Submission.status) == Status.QUEUED) & (col(Submission.created_at) < cutoff))
                | ((col(Submission.status) == Status.RUNNING) & (col(Submission.started_at) < cutoff))
            )
            .order_by(col(Submission.id))
            .limit(limit)
        )
        stuck = []
        for submission, challenge in rows:
            if submission.status == Status.RUNNING:
                allowed = stale_after(spec_of(challenge), Kind(submission.kind), older_than)
                if submission.started_at is None or submission.started_at >= now - allowed:
                    continue  # still within its own time limit: a container may be running it
            assert submission.id is not None
            stuck.append(Stuck(submission_id=submission.id, attempts=submission.attempts))
        return stuck


async def reenqueue(queue: EvaluationQueue, stuck: list[Stuck], *, round_id: int) -> list[int]:
    """Enqueue each stuck submission under a job id unique to this round; returns the ids enqueued."""
    enqueued = []
    for item in stuck:
        await queue.enqueue_evaluation(item.submission_id, attempt=round_id)
        enqueued.append(item.submission_id)
    if enqueued:
        log.warning("re-enqueued %d stuck submission(s): %s", len(enqueued), enqueued[:20])
    return enqueued
