"""The queue contract between the API and the workers: job names and ids, the "board changed"
message (one writer, one parser) and its channel, and putting evaluation jobs on the arq queue."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from core.models import utcnow
from core.scheduling import JOB_EXPIRES, LANES, PREDICTIONS_LANE, SANDBOX_LANE, Placement

EVALUATE = "evaluate"
RESCORE = "rescore"
BUILD_ENVIRONMENT = "build_environment"
UNCERTAINTY = "uncertainty"
SCORE_BASELINE = "score_baseline"


# arq's default is one second to open a connection and no retry: a worker whose event loop is busy
# for a second (a model's container starting, a bootstrap pass) then failed the job it was taking.
REDIS_CONNECT_TIMEOUT_S = 5
REDIS_RETRIES = 3


def redis_settings(redis_url: str) -> RedisSettings:
    """How every arq pool of ours reaches Redis: a patient connect, retried with backoff on a timeout
    or a refused connection (Redis restarting), so a brief stall does not fail a job."""
    return replace(
        RedisSettings.from_dsn(redis_url),
        conn_timeout=REDIS_CONNECT_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=2, base=0.1), REDIS_RETRIES),
        retry_on_timeout=True,
    )


def board_channel(slug: str) -> str:
    """The Redis pub/sub channel on which 'board changed' is published for a challenge."""
    return f"riality:board:{slug}"


def board_message(slug: str, team_id: int | None = None, **details: object) -> str:
    """What 'board changed' says: the challenge, and the team whose entry changed (None: any of them).

    API processes reread only that team (server.live); extra details are for people reading Redis.
    """
    return json.dumps({"challenge": slug, "team": team_id, **details})


def board_team(data: bytes | str) -> int | None:
    """The team a 'board changed' message names (None: any of them, or an unreadable message).

    The one parser of what board_message writes.
    """
    try:
        team = json.loads(data).get("team")
    except (ValueError, AttributeError):
        return None
    return team if isinstance(team, int) else None


def job_id(submission_id: int, attempt: int | str) -> str:
    # arq refuses a job id it already holds, so the upload and each reconciler pass use their own.
    return f"evaluate:{submission_id}:{attempt}"


def job_submission(job: bytes | str) -> int | None:
    """The submission an evaluation job id names (None: another kind of job)."""
    text = job.decode() if isinstance(job, bytes) else job
    parts = text.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "evaluate" and parts[1].isdigit() else None


def baseline_version(updated_at: datetime | None) -> str:
    """A baseline's job version: its row's last change (a new bundle, or a run given back)."""
    return f"{updated_at.timestamp():.3f}" if updated_at is not None else "0"


def uncertainty_due(period_s: float) -> tuple[int, datetime]:
    """The period at whose end a pass asked for now runs (its job id's last part), and that end."""
    period = max(period_s, 0.01)
    bucket = int(time.time() // period) + 1
    return bucket, datetime.fromtimestamp(bucket * period, UTC)


class EvaluationQueue(Protocol):
    async def enqueue_evaluation(
        self, submission_id: int, placement: Placement, *, attempt: int | str = 0, defer_s: float = 0
    ) -> None: ...


class ArqQueue:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    @classmethod
    async def connect(cls, redis_url: str) -> ArqQueue:
        return cls(await create_pool(redis_settings(redis_url)))

    async def enqueue_evaluation(
        self, submission_id: int, placement: Placement, *, attempt: int | str = 0, defer_s: float = 0
    ) -> None:
        """Queue a submission in its lane at its fair place, or `defer_s` seconds from now."""
        due = placement.due if not defer_s else utcnow() + timedelta(seconds=defer_s)
        await self.redis.enqueue_job(
            EVALUATE,
            submission_id,
            _job_id=job_id(submission_id, attempt),
            _queue_name=placement.lane,
            _defer_until=due,
            _expires=JOB_EXPIRES,
        )

    async def enqueue_rescore(self, rescore_id: int, submission_id: int, lane: str) -> None:
        await self.redis.enqueue_job(
            RESCORE,
            rescore_id,
            submission_id,
            _job_id=f"rescore:{rescore_id}:{submission_id}",
            _queue_name=lane,
        )

    async def enqueue_environment(self, challenge_id: int, version: str) -> None:
        """Build a challenge's environment; `version` (its row's updated_at) tells one request from the next.
        Only workers with Docker take it: it goes to the sandbox lane."""
        await self.redis.enqueue_job(
            BUILD_ENVIRONMENT,
            challenge_id,
            _job_id=f"environment:{challenge_id}:{version}",
            _queue_name=SANDBOX_LANE,
        )

    async def enqueue_baseline(self, challenge_id: int, phase: str, name: str, version: str) -> None:
        """Run and score a model or code baseline (runner.baselines): in the sandbox lane, once per version."""
        await self.redis.enqueue_job(
            SCORE_BASELINE,
            challenge_id,
            name,
            phase,
            _job_id=f"baseline:{challenge_id}:{phase}:{name}:{version}",
            _queue_name=SANDBOX_LANE,
        )

    async def enqueue_uncertainty(self, slug: str, period_s: float) -> None:
        """A pass over the challenge's board uncertainty at the end of the current period: every request
        in one period shares its job id, so a burst of scores makes one pass (arq refuses the others)."""
        bucket, due = uncertainty_due(period_s)
        await self.redis.enqueue_job(
            UNCERTAINTY,
            slug,
            _job_id=f"uncertainty:{slug}:{bucket}",
            _queue_name=PREDICTIONS_LANE,
            _defer_until=due,
        )

    async def publish_board_changed(self, slug: str, team_id: int | None = None) -> None:
        """Tell every API process that a board changed (their caches and live streams follow).

        With a team, only that team's entry is reloaded; without, the whole board.
        """
        await self.redis.publish(board_channel(slug), board_message(slug, team_id))

    async def close(self) -> None:
        await self.redis.aclose()


async def lane_jobs(redis: ArqRedis) -> dict[str, list[tuple[str, bool]]]:
    """Each lane's jobs, each with whether a worker has started it (arq keeps a job in its queue
    while it runs, marked by an in-progress key)."""
    jobs = {name: [job.decode() for job in await redis.zrange(name, 0, -1)] for name in LANES}
    every = [job for name in LANES for job in jobs[name]]
    started = iter(await redis.mget([in_progress_key_prefix + job for job in every]) if every else [])
    return {name: [(job, next(started) is not None) for job in jobs[name]] for name in LANES}


def depth(jobs: list[tuple[str, bool]]) -> tuple[int, int]:
    """A lane's (waiting, running) job counts, from what lane_jobs read."""
    running = sum(started for _, started in jobs)
    return len(jobs) - running, running


async def waiting_submissions(redis: ArqRedis) -> set[int]:
    """Submissions whose evaluation job waits in a lane and no worker has started."""
    return {
        sid
        for jobs in (await lane_jobs(redis)).values()
        for job, started in jobs
        if not started and (sid := job_submission(job)) is not None
    }
