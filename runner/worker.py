"""Building and running the arq worker from explicit Settings (nothing happens at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from core.db import create_engine, create_sessionmaker
from core.settings import Settings
from core.storage import BlobStore
from runner import heartbeat
from runner.budgets import ARQ_MAX_TRIES
from runner.evaluation import Runtime
from runner.jobs import build_environment, evaluate, reconcile, rescore, sweep_blobs
from runner.sandbox import Sandbox, SandboxError
from runner.truths import TruthCache

log = logging.getLogger(__name__)


def _sandbox_or_none(runtime: str = "") -> tuple[Sandbox | None, str]:
    """The sandbox if a Docker daemon answers (leftovers of a dead worker removed first), else why not."""
    try:
        sandbox = Sandbox(runtime=runtime)
    except SandboxError as exc:
        log.warning("model and code submissions cannot run on this worker: %s", exc)
        return None, str(exc).splitlines()[0][:200]
    sandbox.sweep()
    return sandbox, ""


def create_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings.database)
        ctx["engine"] = engine
        ctx["sessions"] = create_sessionmaker(engine)
        ctx["settings"] = settings
        sandbox, reason = await asyncio.to_thread(_sandbox_or_none, settings.sandbox_runtime)
        slots = max(1, min(settings.sandbox_concurrency, os.cpu_count() or 1))
        ctx["runtime"] = runtime = Runtime(
            truths=TruthCache(BlobStore(settings.blobs_dir)),
            work_root=settings.data_dir / "runs",
            sandbox=sandbox,
            sandbox_reason=reason,
            sandbox_slots=asyncio.Semaphore(slots),
        )
        ctx["slots"] = slots
        ctx["heartbeat"] = asyncio.create_task(heartbeat.run(ctx["redis"], runtime, slots))

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ctx["heartbeat"]
        if "engine" in ctx:
            await ctx["engine"].dispose()

    return Worker(
        functions=[evaluate, rescore, build_environment],
        cron_jobs=[
            cron(reconcile, second={0, 30}, run_at_startup=True, unique=True),
            cron(sweep_blobs, minute=set(range(0, 60, 10)), second=15, unique=True),
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay_s,
        # A safety net only: sandbox runs keep their own deadline (the challenge's time_s, up to 24 h each).
        job_timeout=49 * 3600,
        keep_result=60,
        max_tries=ARQ_MAX_TRIES,  # see runner.budgets
    )


def run_worker(settings: Settings) -> None:
    create_worker(settings).run()
