"""Building and running the arq worker from explicit Settings (nothing happens at import time)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from runner.evaluation import Runtime, TruthCache
from runner.jobs import evaluate, reconcile, sweep_blobs
from runner.sandbox import Sandbox, SandboxError
from server.db import create_engine, create_sessionmaker
from server.settings import Settings
from server.storage import BlobStore

log = logging.getLogger(__name__)


def _sandbox_or_none() -> Sandbox | None:
    """The sandbox if a Docker daemon answers; leftovers of a dead worker are removed first."""
    try:
        sandbox = Sandbox()
    except SandboxError as exc:
        log.warning("model and code submissions cannot run on this worker: %s", exc)
        return None
    sandbox.sweep()
    return sandbox


def create_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings.database)
        ctx["engine"] = engine
        ctx["sessions"] = create_sessionmaker(engine)
        ctx["settings"] = settings
        ctx["runtime"] = Runtime(
            truths=TruthCache(BlobStore(settings.blobs_dir)),
            work_root=settings.data_dir / "runs",
            sandbox=await asyncio.to_thread(_sandbox_or_none),
            sandbox_slots=asyncio.Semaphore(max(1, min(settings.sandbox_concurrency, os.cpu_count() or 1))),
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "engine" in ctx:
            await ctx["engine"].dispose()

    return Worker(
        functions=[evaluate],
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
        max_tries=10,  # our own retry policy (runner.jobs.MAX_TRIES) decides before arq's does
    )


def run_worker(settings: Settings) -> None:
    create_worker(settings).run()
