"""Building and running the arq worker from explicit Settings (nothing happens at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import replace
from typing import Any

from arq import cron
from arq.worker import Worker

from core.db import create_sessionmaker, engine_for
from core.queue import redis_settings
from core.scheduling import GPU_LANE, PREDICTIONS_LANE, SANDBOX_LANE
from core.settings import Settings
from core.storage import BlobStore
from runner import heartbeat
from runner.budgets import ARQ_MAX_TRIES
from runner.evaluation import Runtime
from runner.jobs import (
    build_environment,
    evaluate,
    reconcile,
    rescore,
    score_baseline,
    sweep_blobs,
    uncertainty,
)
from runner.sandbox import Sandbox, SandboxError
from runner.truths import TruthCache

log = logging.getLogger(__name__)


JOBS = [evaluate, rescore, build_environment, uncertainty, score_baseline]
# A safety net only: sandbox runs keep their own deadline (the challenge's time_s, up to 24 h each).
JOB_TIMEOUT_S = 49 * 3600


def _sandbox_or_none(runtime: str = "", fake_gpus: bool = False) -> tuple[Sandbox | None, str]:
    """The sandbox if a Docker daemon answers (leftovers of a dead worker removed first), else why not."""
    try:
        sandbox = Sandbox(runtime=runtime, fake_gpus=fake_gpus)
    except SandboxError as exc:
        log.warning("model and code submissions cannot run on this worker: %s", exc)
        return None, str(exc).splitlines()[0][:200]
    sandbox.sweep()
    return sandbox, ""


def _lane(settings: Settings, name: str, ctx: dict[str, Any], max_jobs: int, *, burst: bool) -> Worker:
    """An arq worker on one more queue, in this process: it shares the lead's runtime, not its pool."""
    return Worker(
        functions=JOBS,
        queue_name=name,
        redis_settings=redis_settings(settings.redis_url),
        ctx=ctx,
        burst=burst,
        handle_signals=False,  # the lead's signal handler stops the lanes
        max_jobs=max_jobs,
        poll_delay=settings.worker_poll_delay_s,
        job_timeout=JOB_TIMEOUT_S,
        keep_result=60,
        max_tries=ARQ_MAX_TRIES,
    )


async def _stop_lanes(lanes: list[tuple[Worker, asyncio.Task[None]]], *, burst: bool) -> None:
    """In burst mode (tests, drains) the lanes finish their queues; otherwise they are stopped now."""
    for lane, task in lanes:
        if not burst:
            lane.handle_sig(signal.SIGTERM)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await lane.close()


def create_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    """The lead arq worker (prediction files, cron jobs) and, started with it, one lane per other
    queue this host can serve: sandbox runs if Docker answers, GPU runs if it offers GPUs."""

    async def startup(ctx: dict[str, Any]) -> None:
        # No ping per checkout: it cost a fifth of a prediction file's CPU, and a job that meets a
        # connection the server dropped is retried (runner.jobs), by then on a fresh one.
        engine = engine_for(settings, ping_after_idle_s=None)
        ctx["engine"] = engine
        ctx["sessions"] = create_sessionmaker(engine)
        ctx["settings"] = settings
        ctx["uncertainty_asked"] = {}  # shared by every job's ctx (arq copies the dict, not its values)
        sandbox, reason = await asyncio.to_thread(
            _sandbox_or_none, settings.sandbox_runtime, settings.worker_fake_gpus
        )
        slots = max(1, min(settings.sandbox_concurrency, os.cpu_count() or 1))
        ctx["runtime"] = runtime = Runtime(
            truths=TruthCache(BlobStore(settings.blobs_dir)),
            work_root=settings.data_dir / "runs",
            sandbox=sandbox,
            sandbox_reason=reason,
            sandbox_slots=asyncio.Semaphore(slots),
            team_sandbox_runs=settings.team_sandbox_runs,
        )
        shared = {k: ctx[k] for k in ("engine", "sessions", "settings", "runtime", "uncertainty_asked")}
        lanes: list[tuple[Worker, int]] = []
        if sandbox is not None:
            lanes.append((_lane(settings, SANDBOX_LANE, {**shared}, slots, burst=burst), slots))
            if settings.worker_gpus > 0:
                gpu_runtime = replace(runtime, sandbox_slots=asyncio.Semaphore(settings.worker_gpus))
                lane = _lane(
                    settings, GPU_LANE, {**shared, "runtime": gpu_runtime}, settings.worker_gpus, burst=burst
                )
                lanes.append((lane, settings.worker_gpus))
        offer = heartbeat.Offer(
            slots=slots,
            gpus=settings.worker_gpus if sandbox is not None else 0,
            lanes=(PREDICTIONS_LANE, *(lane.queue_name for lane, _ in lanes)),
        )
        ctx["offer"] = offer
        for lane, _ in lanes:
            lane.ctx["offer"] = offer
        ctx["lanes"] = [(lane, asyncio.create_task(lane.async_run())) for lane, _ in lanes]
        ctx["heartbeat"] = asyncio.create_task(heartbeat.run(ctx["redis"], runtime, offer))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await _stop_lanes(ctx.get("lanes", []), burst=burst)
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ctx["heartbeat"]
        if "engine" in ctx:
            await ctx["engine"].dispose()

    return Worker(
        functions=JOBS,
        queue_name=PREDICTIONS_LANE,
        cron_jobs=[
            cron(reconcile, second={0, 30}, run_at_startup=True, unique=True),
            cron(sweep_blobs, minute=set(range(0, 60, 10)), second=15, unique=True),
        ],
        redis_settings=redis_settings(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay_s,
        job_timeout=JOB_TIMEOUT_S,
        keep_result=60,
        max_tries=ARQ_MAX_TRIES,  # see runner.budgets
    )


def run_worker(settings: Settings) -> None:
    create_worker(settings).run()
