"""Helpers for integration tests: accounts, challenges, uploads and waiting for the worker."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from challenges.bundle import load_bundle
from core.db import create_engine, create_sessionmaker
from core.models import Role, StaffRole
from core.scheduling import LANES
from core.settings import Settings
from core.storage import BlobStore
from runner.worker import create_worker
from server.services import staff
from server.services.accounts import set_password_and_role
from server.services.challenges import get_challenge, import_bundle
from server.services.passwords import Passwords
from server.services.stored_bundles import store_bundle

PASSWORD = "correct-horse-battery"


async def eventually(probe: Callable[[], Awaitable[object]], expected: object, wait_s: float = 5.0) -> None:
    """Poll `probe` until it gives `expected`: what an API process hears through Redis lands a moment
    after the worker has returned."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while (value := await probe()) != expected:
        if asyncio.get_running_loop().time() > deadline:
            assert value == expected
        await asyncio.sleep(0.05)


async def load_challenge(settings: Settings, path: Path) -> str:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await import_bundle(
                session, store_bundle(load_bundle(path), BlobStore(settings.blobs_dir))
            )
    finally:
        await engine.dispose()
    return result.slug


async def make_user(settings: Settings, name: str, role: Role) -> None:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            passwords = Passwords.of(settings)
            try:
                await set_password_and_role(
                    session, username=name, password=PASSWORD, role=role, passwords=passwords
                )
            finally:
                passwords.close()
    finally:
        await engine.dispose()


async def make_staff(settings: Settings, name: str, slug: str, role: StaffRole) -> None:
    """A registered user made organiser or judge of one challenge, as `riality staff add` does."""
    await make_user(settings, name, Role.PARTICIPANT)
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            challenge = await get_challenge(session, slug, staff.OPERATOR)
            await staff.set_staff(session, staff.OPERATOR, challenge, name, role)
    finally:
        await engine.dispose()


async def login(client: httpx.AsyncClient, name: str, *, register: bool = True) -> dict[str, str]:
    """Bearer headers for `name` (registered first unless told otherwise); the in-process test client
    and a client of a real API process alike."""
    if register:
        response = await client.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert response.status_code == 201, response.text
    response = await client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    slug: str,
    data: bytes,
    filename: str = "predictions.csv",
    **form: str,
) -> Any:
    return await client.post(
        f"/api/challenges/{slug}/submissions",
        files={"file": (filename, io.BytesIO(data), "text/csv")},
        data=form or None,
        headers=headers,
    )


async def drain_queue(settings: Settings) -> None:
    """Run an in-process arq worker in burst mode until the queues are empty. Again if a sandbox lane
    queued a job on the lead worker's queue after it had stopped (the uncertainty pass after a code
    submission's score): a worker that runs for good takes it at once."""
    for _ in range(5):
        worker = create_worker(settings, burst=True, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()
        redis = Redis.from_url(settings.redis_url)
        try:
            if not any([await redis.zcard(lane) for lane in LANES]):
                return
        finally:
            await redis.aclose()


async def announce_sandbox_worker(settings: Settings) -> None:
    """Send the heartbeat of the worker that `drain_queue` will run in this process: the API accepts
    model and code uploads only while a live worker can run them. Its Docker status is the real one."""
    import redis.asyncio as aioredis

    from core import workers
    from core.workers import worker_id
    from runner.evaluation import Runtime
    from runner.heartbeat import Offer, current
    from runner.sandbox import Sandbox
    from runner.truths import TruthCache

    runtime = Runtime(
        truths=TruthCache(BlobStore(settings.blobs_dir)), work_root=settings.data_dir, sandbox=Sandbox()
    )
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await workers.beat(client, await asyncio.to_thread(current, runtime, worker_id(), Offer(2)))
    finally:
        await client.aclose()


async def wait_for_status(
    client: AsyncTestClient,
    headers: dict[str, str],
    submission_id: int,
    statuses: set[str],
    wait_s: float = 30,
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        body = (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json()
        if body["status"] in statuses:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"submission {submission_id} still {body['status']} after {wait_s} s")
        await asyncio.sleep(0.05)


async def until_workers(http: httpx.AsyncClient, wanted: int) -> list[dict[str, Any]]:
    """The live workers /api/health lists, once there are `wanted` of them (30 s at most)."""
    for _ in range(300):
        workers = (await http.get("/api/health")).json()["workers"]
        if len(workers) == wanted:
            return workers
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {wanted} live worker(s), /api/health lists {workers}")
