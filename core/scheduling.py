"""Which queue a job goes to, and where in it: the lanes and the fair order between teams.

Lanes. Prediction files take milliseconds and any worker scores them; model and code submissions
hold a sandbox slot for up to their time limit; GPU challenges need a worker with GPUs. Each has its
own arq queue, so a flood of slow runs never delays a prediction file, and a worker only takes
from the lanes it can serve (one without Docker takes no sandbox jobs, one without GPUs no GPU jobs).

Fair order. arq runs the due job with the lowest score first. A submission's score puts it after
every job of a team with fewer submissions waiting: a team's n-th waiting submission goes after
every other team's (n-1)-th, i.e. round-robin between teams, and in arrival order within a round.
Scores lie in the past, so every job is due at once: nothing waits while a worker is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.challenges import spec_of
from core.models import Challenge, Status, Submission

PREDICTIONS_LANE = "arq:queue"  # arq's default: the worker's cron jobs run from it too
SANDBOX_LANE = "riality:queue:sandbox"
GPU_LANE = "riality:queue:gpu"
LANES = (PREDICTIONS_LANE, SANDBOX_LANE, GPU_LANE)

ROUND_MS = 24 * 3600 * 1000  # a round outweighs any difference of arrival times within it
MAX_ROUND = 9_000  # a team's 9,000th waiting submission and later ones share the last round
# Every score lies this far before its arrival: a job is always due (score ≤ now) when it arrives.
LEAD_MS = (MAX_ROUND + 1) * ROUND_MS
# arq would take a job's expiry from its score; a lost job is re-enqueued by the reconciler anyway.
JOB_EXPIRES = timedelta(days=2)


def lane(spec: ChallengeSpec, kind: str) -> str:
    """The queue of a submission of `kind` to the challenge `spec`: a prediction file scored by the
    organiser's scorer needs a sandbox too, and a challenge's GPUs serve its sandbox runs."""
    if kind == "predictions" and spec.scorer is None:
        return PREDICTIONS_LANE
    return GPU_LANE if spec.limits.gpus > 0 else SANDBOX_LANE


def fair_score(arrived: datetime, waiting_before: int) -> int:
    """arq's score (ms) for a submission that arrived at `arrived` with `waiting_before` of its
    team's submissions in the same lane still waiting ahead of it."""
    arrived_ms = int(arrived.replace(tzinfo=arrived.tzinfo or UTC).timestamp() * 1000)
    return arrived_ms + min(waiting_before, MAX_ROUND) * ROUND_MS - LEAD_MS


def score_time(score_ms: int) -> datetime:
    return datetime.fromtimestamp(score_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a submission's evaluation job goes: its lane, and its arq score there."""

    lane: str
    score_ms: int

    @property
    def due(self) -> datetime:
        return score_time(self.score_ms)


async def placement(session: AsyncSession, submission: Submission, spec: ChallengeSpec) -> Placement:
    """The lane and fair score of a submission (one indexed count of its team's waiting ones; all
    of a team's submissions share a challenge, so the kind tells the lane)."""
    query = (
        select(func.count())
        .select_from(Submission)
        .where(
            col(Submission.team_id) == submission.team_id,
            col(Submission.status) == Status.QUEUED,
            col(Submission.id) < submission.id,
        )
    )
    if spec.scorer is None:  # else every kind shares the sandbox lane
        is_file = col(Submission.kind) == "predictions"
        query = query.where(is_file if submission.kind == "predictions" else ~is_file)
    waiting = await session.exec(query)
    return Placement(lane(spec, submission.kind), fair_score(submission.created_at, waiting.one()))


async def lanes_of(session: AsyncSession, submission_ids: list[int]) -> dict[int, str]:
    """The lane of each submission (for jobs that are not placed fairly: rescores)."""
    if not submission_ids:
        return {}
    rows = await session.exec(
        select(Submission.id, Submission.kind, Submission.phase, Challenge)
        .join(Challenge, col(Challenge.id) == Submission.challenge_id)
        .where(col(Submission.id).in_(submission_ids))
    )
    return {
        sid: lane(spec_of(challenge).phase_spec(phase), kind)
        for sid, kind, phase, challenge in rows
        if sid is not None
    }
