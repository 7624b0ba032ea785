"""The queue contract between the API and the workers: job names and ids, the "board changed"
message (one writer, one parser) and its channel, and putting evaluation jobs on the arq queue."""

from __future__ import annotations

import json
from typing import Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool

EVALUATE = "evaluate"
RESCORE = "rescore"
BUILD_ENVIRONMENT = "build_environment"


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


def job_id(submission_id: int, attempt: int) -> str:
    # arq refuses a job id it already holds, so the upload and each reconciler pass use their own.
    return f"evaluate:{submission_id}:{attempt}"


class EvaluationQueue(Protocol):
    async def enqueue_evaluation(self, submission_id: int, *, attempt: int = 0) -> None: ...


class ArqQueue:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    @classmethod
    async def connect(cls, redis_url: str) -> ArqQueue:
        return cls(await create_pool(RedisSettings.from_dsn(redis_url)))

    async def enqueue_evaluation(self, submission_id: int, *, attempt: int = 0) -> None:
        await self.redis.enqueue_job(EVALUATE, submission_id, _job_id=job_id(submission_id, attempt))

    async def enqueue_rescore(self, rescore_id: int, submission_id: int) -> None:
        await self.redis.enqueue_job(
            RESCORE, rescore_id, submission_id, _job_id=f"rescore:{rescore_id}:{submission_id}"
        )

    async def enqueue_environment(self, challenge_id: int, version: str) -> None:
        """Build a challenge's environment; `version` (its row's updated_at) tells one request from the next."""
        await self.redis.enqueue_job(
            BUILD_ENVIRONMENT, challenge_id, _job_id=f"environment:{challenge_id}:{version}"
        )

    async def publish_board_changed(self, slug: str, team_id: int | None = None) -> None:
        """Tell every API process that a board changed (their caches and live streams follow).

        With a team, only that team's entry is reloaded; without, the whole board.
        """
        await self.redis.publish(board_channel(slug), board_message(slug, team_id))

    async def close(self) -> None:
        await self.redis.aclose()
