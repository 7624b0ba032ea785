"""The reconciler: finds submissions the queue has lost (Redis restarted, a worker died) and enqueues them again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from runner.queue import EvaluationQueue
from server.db import SessionMaker
from server.models import Status, Submission, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Stuck:
    submission_id: int
    attempts: int


async def find_stuck(sessions: SessionMaker, *, older_than: timedelta, limit: int = 500) -> list[Stuck]:
    cutoff = utcnow() - older_than
    async with sessions() as session:
        rows = await session.exec(
            select(Submission.id, Submission.attempts)
            .where(
                ((col(Submission.status) == Status.QUEUED) & (col(Submission.created_at) < cutoff))
                | ((col(Submission.status) == Status.RUNNING) & (col(Submission.started_at) < cutoff))
            )
            .order_by(col(Submission.id))
            .limit(limit)
        )
        return [Stuck(submission_id=i, attempts=a) for i, a in rows if i is not None]


async def reenqueue(queue: EvaluationQueue, stuck: list[Stuck], *, round_id: int) -> list[int]:
    """Enqueue each stuck submission under a job id unique to this round; returns the ids enqueued."""
    enqueued = []
    for item in stuck:
        await queue.enqueue_evaluation(item.submission_id, attempt=round_id)
        enqueued.append(item.submission_id)
    if enqueued:
        log.warning("re-enqueued %d stuck submission(s): %s", len(enqueued), enqueued[:20])
    return enqueued
