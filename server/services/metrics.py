"""What /metrics reports, gathered from the database, Redis and this API process. No challenge is
named: the counts are the venue's, so they tell one contest's staff nothing of another's."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import metrics, workers
from core.models import Submission
from core.queue import depth, lane_jobs
from server.live.hub import BoardHub
from server.services.status import LANE_NAMES


@dataclass(frozen=True, slots=True)
class Snapshot:
    queue: dict[tuple[str, str], int]  # (lane, waiting|running) → jobs
    submissions: dict[tuple[str, str], int]  # (status, kind) → submissions
    evaluations: list[metrics.Histogram]
    sandbox_runs: dict[str, float]  # outcome → runs
    workers: list[workers.Heartbeat]
    live_streams: int  # this API process's open board streams
    board_rebuilds: dict[str, int]  # this API process's rebuilds, by what was rebuilt


async def snapshot(session: AsyncSession, redis: ArqRedis, hub: BoardHub) -> Snapshot:
    jobs = await lane_jobs(redis)
    queue = {}
    for lane, entries in jobs.items():
        queue[LANE_NAMES[lane], "waiting"], queue[LANE_NAMES[lane], "running"] = depth(entries)
    rows = await session.exec(
        select(Submission.status, Submission.kind, func.count()).group_by(
            col(Submission.status), col(Submission.kind)
        )
    )
    return Snapshot(
        queue=queue,
        submissions={(str(status), str(kind)): n for status, kind, n in rows},
        evaluations=await metrics.evaluation_histograms(redis),
        sandbox_runs=await metrics.sandbox_outcomes(redis),
        workers=await workers.live_workers(redis),
        live_streams=hub.open_streams,
        board_rebuilds=dict(hub.rebuilds),
    )
