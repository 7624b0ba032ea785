"""What `riality status` tells an operator: each lane's queue, the live workers, the oldest waiting
submission and why it may be waiting. Read from Redis and the database only, like the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import workers
from core.challenges import spec_of
from core.models import Challenge, Status, Submission, utcnow
from core.queue import depth, job_submission, lane_jobs
from core.scheduling import GPU_LANE, LANES, PREDICTIONS_LANE, SANDBOX_LANE, lane

LANE_NAMES = {PREDICTIONS_LANE: "predictions", SANDBOX_LANE: "sandbox", GPU_LANE: "gpu"}


@dataclass(frozen=True, slots=True)
class LaneStatus:
    name: str  # predictions, sandbox, gpu
    queue: str  # its arq queue in Redis
    waiting: int  # jobs no worker has started
    running: int  # jobs a worker has started
    workers: int  # live workers taking from it


@dataclass(frozen=True, slots=True)
class Waiting:
    submission_id: int
    challenge: str
    kind: str
    lane: str
    queued_at: datetime
    age_s: float
    why: str  # what it waits for


@dataclass(frozen=True, slots=True)
class PlatformStatus:
    lanes: list[LaneStatus]
    workers: list[workers.Heartbeat]
    queued: int  # submissions `queued` in the database
    running: int  # submissions `running` in the database
    oldest: Waiting | None


def _why(lane_status: LaneStatus, in_redis: bool) -> str:
    if lane_status.workers == 0:
        return f"no live worker takes the {lane_status.name} lane"
    if not in_redis:
        return "its job is not in Redis (lost?): the reconciler re-enqueues it"
    return f"{lane_status.waiting} job(s) in the {lane_status.name} lane, {lane_status.running} running"


async def gather(redis: ArqRedis, session: AsyncSession) -> PlatformStatus:
    jobs = await lane_jobs(redis)
    beats = await workers.live_workers(redis)
    lanes = [
        LaneStatus(LANE_NAMES[name], name, *depth(jobs[name]), workers=sum(name in b.lanes for b in beats))
        for name in LANES
    ]
    counts = dict(
        (await session.exec(select(Submission.status, func.count()).group_by(col(Submission.status)))).all()
    )
    row = (
        await session.exec(
            select(Submission, Challenge)
            .join(Challenge, col(Challenge.id) == Submission.challenge_id)
            .where(col(Submission.status) == Status.QUEUED)
            .order_by(col(Submission.created_at), col(Submission.id))
            .limit(1)
        )
    ).first()
    oldest = None
    if row is not None:
        submission, challenge = row
        assert submission.id is not None
        where = lane(spec_of(challenge).phase_spec(submission.phase), submission.kind)
        in_redis = any(job_submission(job) == submission.id for job, _ in jobs[where])
        oldest = Waiting(
            submission_id=submission.id,
            challenge=challenge.slug,
            kind=submission.kind,
            lane=LANE_NAMES[where],
            queued_at=submission.created_at,
            age_s=(utcnow() - submission.created_at).total_seconds(),
            why=_why(next(s for s in lanes if s.queue == where), in_redis),
        )
    return PlatformStatus(
        lanes=lanes,
        workers=beats,
        queued=counts.get(Status.QUEUED, 0),
        running=counts.get(Status.RUNNING, 0),
        oldest=oldest,
    )
