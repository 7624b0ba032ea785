"""Worker heartbeats: each worker says in Redis, every few seconds, whether it can run sandboxes.

The API decides from these whether model and code uploads can run anywhere: it never asks a Docker
daemon itself (it may run on a machine without one, apart from the workers).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from typing import Protocol

from redis.asyncio import Redis

PREFIX = "riality:worker:"
EVERY_S = 5.0  # how often a worker beats
TTL_S = 20  # a worker silent this long is taken for dead (its key expires)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    worker: str  # host:pid
    host: str
    docker: bool  # a Docker daemon answers this worker
    reason: str  # why not, when it does not
    images: tuple[str, ...]  # runtime images present on its host
    slots: int  # sandbox runs at once
    free_slots: int
    seen: float  # epoch seconds
    gpus: int = 0  # GPUs it offers to challenges that need them
    lanes: tuple[str, ...] = ()  # the queues it takes jobs from (core.scheduling)

    def can_run(self, image: str, gpus: int = 0) -> bool:
        return self.docker and image in self.images and self.gpus >= gpus


def worker_id() -> str:
    """This worker process, as its heartbeat and the submissions it claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def live_ids(redis: Redis) -> set[str]:
    """The workers whose heartbeat has not expired."""
    return {key.decode().removeprefix(PREFIX) async for key in redis.scan_iter(match=PREFIX + "*", count=200)}


async def beat(redis: Redis, heartbeat: Heartbeat) -> None:
    await redis.set(PREFIX + heartbeat.worker, json.dumps(asdict(heartbeat)), ex=TTL_S)


async def stop(redis: Redis, worker: str) -> None:
    await redis.delete(PREFIX + worker)


async def live_workers(redis: Redis) -> list[Heartbeat]:
    keys = [key async for key in redis.scan_iter(match=PREFIX + "*", count=200)]
    beats = []
    for raw in await redis.mget(keys) if keys else []:
        if raw is None:  # expired between the scan and the read
            continue
        fields = json.loads(raw)
        fields["images"] = tuple(fields.get("images", ()))
        fields["lanes"] = tuple(fields.get("lanes", ()))
        beats.append(Heartbeat(**fields))
    return sorted(beats, key=lambda b: b.worker)


def sandbox_refusal(beats: list[Heartbeat], image: str, gpus: int = 0) -> str | None:
    """Why no live worker can run a container of `image` with `gpus` GPUs (None: one can)."""
    if any(b.can_run(image, gpus) for b in beats):
        return None
    if not beats:
        return "no worker is running"
    if not any(b.docker for b in beats):
        return "; ".join(sorted({f"{b.host}: {b.reason}" for b in beats}))[:300]
    if gpus and not any(b.docker and b.gpus >= gpus for b in beats):
        return f"no live worker offers {gpus} GPU(s)"
    return f"no live worker has the runtime image {image!r}"


class SandboxCheck(Protocol):
    async def __call__(self, image: str, gpus: int = 0) -> str | None:
        """Why no live worker can run a container of `image` with `gpus` GPUs now (None: one can)."""
        ...


def sandbox_check(redis: Redis) -> SandboxCheck:
    async def check(image: str, gpus: int = 0) -> str | None:
        return sandbox_refusal(await live_workers(redis), image, gpus)

    return check
