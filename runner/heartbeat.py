"""This worker's heartbeat: whether it can run sandboxes right now, said in Redis every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import workers
from runner.evaluation import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """What this worker offers, fixed at its start: sandbox slots, GPUs, and the lanes it takes from."""

    slots: int
    gpus: int = 0
    lanes: tuple[str, ...] = ()


def current(runtime: Runtime, worker: str, offer: Offer) -> workers.Heartbeat:
    """Blocking (asks the Docker daemon): what this worker can do now."""
    if runtime.sandbox is None:
        docker, reason, images = False, runtime.sandbox_reason, ()
    else:
        docker, reason, images = runtime.sandbox.status()
    return workers.Heartbeat(
        worker=worker,
        host=socket.gethostname(),
        docker=docker,
        reason=reason,
        images=images,
        slots=offer.slots,
        free_slots=runtime.sandbox_slots._value if docker else 0,
        seen=time.time(),
        gpus=offer.gpus if docker else 0,
        lanes=offer.lanes,
    )


async def beat_now(redis: Redis, runtime: Runtime, offer: Offer) -> None:
    """One beat out of turn: after an image was built here, the API learns of it at once."""
    with contextlib.suppress(RedisError):
        await workers.beat(redis, await asyncio.to_thread(current, runtime, workers.worker_id(), offer))


async def run(redis: Redis, runtime: Runtime, offer: Offer) -> None:
    """Beat until cancelled; then the key goes at once, so the API stops counting this worker."""
    worker = workers.worker_id()
    try:
        while True:
            try:
                await workers.beat(redis, await asyncio.to_thread(current, runtime, worker, offer))
            except RedisError as exc:
                log.warning("heartbeat not sent: %s", exc)
            await asyncio.sleep(workers.EVERY_S)
    finally:
        with contextlib.suppress(RedisError):
            await workers.stop(redis, worker)
