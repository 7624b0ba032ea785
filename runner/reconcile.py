"""The reconciler: finds submissions the queue has lost (Redis restarted, a worker died) and enqueues them again."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from challenges.spec import ChallengeSpec, Kind
from core.challenges import spec_of
from core.db import SessionMaker
from core.models import Challenge, Status, Submission, utcnow
from core.queue import EvaluationQueue
from core.scheduling import Placement, fair_score, lane

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stuck:
    submission_id: int
    attempts: int
    placement: Placement
    queued: bool  # still `queued` (else `running`, past its time or its worker gone)
    abandoned_by: str | None = None  # `running` on a worker whose heartbeat expired: hand it back first


def stale_after(spec: ChallengeSpec, kind: Kind, base: timedelta) -> timedelta:
    """How long a submission may stay `running` before it is presumed lost: sandbox runs get their limit."""
    # A scorer's run after the team's; an ingestion program's run before the scoring program's.
    after = spec.scorer is not None or (spec.program is not None and kind is Kind.CODE)
    runs = (kind is not Kind.PREDICTIONS) + after
    return base + runs * timedelta(seconds=2 * spec.limits.time_s)


async def find_stuck(
    sessions: SessionMaker, *, older_than: timedelta, live: AbstractSet[str] | None = None, limit: int = 500
) -> list[Stuck]:
    """Submissions queued or running for longer than `older_than` that the queue may have lost. A
    running one is presumed lost once its own time limit is past too, or at once if the worker that
    claimed it is not among the `live` ones (its heartbeat expired: it died)."""
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
        ahead: Counter[tuple[int, str]] = Counter()  # a team's stuck ones before this one, per lane
        for submission, challenge in rows:
            spec = spec_of(challenge).phase_spec(submission.phase)
            gone = submission.worker if live is not None and submission.worker not in live else None
            if submission.status == Status.RUNNING and gone is None:
                allowed = stale_after(spec, Kind(submission.kind), older_than)
                if submission.started_at is None or submission.started_at >= now - allowed:
                    continue  # still within its own time limit: a container may be running it
            assert submission.id is not None
            where = lane(spec, submission.kind)
            score = fair_score(submission.created_at, ahead[submission.team_id, where])
            ahead[submission.team_id, where] += 1
            stuck.append(
                Stuck(
                    submission_id=submission.id,
                    attempts=submission.attempts,
                    placement=Placement(where, score),
                    queued=submission.status == Status.QUEUED,
                    abandoned_by=gone if submission.status == Status.RUNNING else None,
                )
            )
        return stuck


async def hand_back(sessions: SessionMaker, item: Stuck) -> None:
    """A running submission whose worker died goes back to `queued`, so that the next claim takes it
    (a claim takes a running one only past its time limit). Only if that worker still has it."""
    async with sessions() as session:
        await session.exec(
            update(Submission)
            .where(
                col(Submission.id) == item.submission_id,
                col(Submission.status) == Status.RUNNING,
                col(Submission.worker) == item.abandoned_by,
            )
            .values(status=Status.QUEUED)
        )
        await session.commit()


async def reenqueue(
    queue: EvaluationQueue, stuck: list[Stuck], *, round_id: int, waiting: AbstractSet[int] = frozenset()
) -> list[int]:
    """Enqueue each stuck submission under a job id unique to this round, unless it is `queued` and
    its job still waits in Redis (a long queue, not a lost job); returns the ids enqueued."""
    enqueued = []
    for item in stuck:
        if item.queued and item.submission_id in waiting:
            continue
        await queue.enqueue_evaluation(item.submission_id, item.placement, attempt=round_id)
        enqueued.append(item.submission_id)
    if enqueued:
        log.warning("re-enqueued %d stuck submission(s): %s", len(enqueued), enqueued[:20])
    return enqueued
