"""`riality status` on a terminal (rich tables) or as JSON for scripts, and `riality check`, the
containers' health checks."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, replace

import httpx
import redis.asyncio as aioredis
from arq.connections import create_pool
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from core import workers
from core.db import create_engine, create_sessionmaker
from core.queue import redis_settings
from core.settings import Settings
from server.services.status import PlatformStatus, gather


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def as_json_text(status: PlatformStatus) -> str:
    data = asdict(status)
    if status.oldest is not None:
        data["oldest"]["queued_at"] = status.oldest.queued_at.isoformat()
    return json.dumps(data, indent=2)


def render(status: PlatformStatus, console: Console) -> None:
    lanes = Table(title="Queues", title_justify="left")
    for column in ("lane", "waiting", "running", "workers", "arq queue"):
        lanes.add_column(column, justify="right" if column in ("waiting", "running", "workers") else "left")
    for lane in status.lanes:
        lanes.add_row(lane.name, str(lane.waiting), str(lane.running), str(lane.workers), lane.queue)
    console.print(lanes)
    console.print(f"In the database: {status.queued} submission(s) queued, {status.running} running.")
    live = Table(title="Live workers (heartbeat)", title_justify="left")
    for column in ("worker", "host", "docker", "slots", "free", "gpus", "lanes", "seen"):
        live.add_column(column)
    now = time.time()
    for beat in status.workers:
        live.add_row(
            beat.worker,
            beat.host,
            "yes" if beat.docker else f"no: {beat.reason}",
            str(beat.slots),
            str(beat.free_slots),
            str(beat.gpus),
            ", ".join(lane.rsplit(":", 1)[-1] for lane in beat.lanes),
            f"{_age(now - beat.seen)} ago",
        )
    if status.workers:
        console.print(live)
    else:
        console.print("No live worker: nothing will be scored until one starts (riality worker).")
    oldest = status.oldest
    if oldest is None:
        console.print("No submission is waiting.")
    else:
        console.print(
            f"Oldest waiting: submission {oldest.submission_id} ({oldest.kind}, {oldest.challenge}), "
            f"queued {_age(oldest.age_s)} ago in the {oldest.lane} lane: {oldest.why}."
        )


async def show_status(settings: Settings, *, as_json: bool) -> int:
    try:
        redis = await create_pool(replace(redis_settings(settings.redis_url), conn_retries=0))
    except (OSError, RedisError) as exc:
        print(f"riality status: cannot reach Redis at {settings.redis_url} ({exc}); set REDIS_URL")
        return 1
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            status = await gather(redis, session)
    finally:
        await redis.aclose()
        await engine.dispose()
    if as_json:
        print(as_json_text(status))
    else:
        render(status, Console(soft_wrap=True))
    return 0


async def check(settings: Settings, what: str) -> int:
    """A container health check: this host's API answers healthy, or a worker on this host beats."""
    if what == "api":
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                answer = await http.get(f"http://127.0.0.1:{settings.port}/api/health")
        except httpx.HTTPError as exc:
            print(f"api: no answer on port {settings.port}: {exc}")
            return 1
        print(f"api: {answer.status_code} {answer.json().get('status')}")
        return 0 if answer.status_code == 200 else 1
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        host = socket.gethostname()
        mine = [b for b in await workers.live_workers(client) if b.host == host]
    finally:
        await client.aclose()
    print(f"worker: {len(mine)} live on {host}" + "".join(f"; {b.worker} docker={b.docker}" for b in mine))
    return 0 if mine else 1
