"""Faults survived, with real processes: a worker killed mid-run, Redis restarted with its queue
lost, the API killed during a burst of uploads, the database gone for a few seconds. In each case
no submission is lost and each is scored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import docker
import httpx
import pytest
from arq import create_pool
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlmodel import select

from core.blobs import sweep_orphans
from core.db import create_engine, create_sessionmaker
from core.models import Baseline, ChallengeFile, Submission
from core.queue import redis_settings
from core.settings import Settings
from core.storage import BlobStore
from runner.sandbox import LABEL, OWNER_LABEL
from server.app import PING_AFTER_IDLE_S, create_app
from server.processes import free_port, start_redis, stop_processes
from tests.conftest import api_process, api_server, worker_process
from tests.helpers import announce_sandbox_worker, load_challenge, login, upload, wait_for_status
from tests.integration.test_model_and_code import PREDICT_RULE, SLUG, bundle, rule_predictions, zip_bytes

SLOW_CODE = zip_bytes({"predict.py": "import time\ntime.sleep(4)\n" + PREDICT_RULE})


async def _submissions(settings: Settings) -> dict[int, Submission]:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            return {s.id: s for s in await session.exec(select(Submission)) if s.id is not None}
    finally:
        await engine.dispose()


async def _until(
    settings: Settings, ids: list[int], statuses: set[str], seconds: float
) -> dict[int, Submission]:
    deadline = time.monotonic() + seconds
    while True:
        rows = await _submissions(settings)
        if all(rows[i].status in statuses for i in ids) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def _containers_of(pid: int) -> list[str]:
    client = docker.from_env()
    try:
        owner = f"{OWNER_LABEL}={os.uname().nodename}:{pid}"
        # sparse: no inspection, which fails for a container the sweep removes meanwhile
        found = client.containers.list(all=True, filters={"label": [LABEL, owner]}, sparse=True)
        return [c.id for c in found]
    finally:
        client.close()


@pytest.mark.timeout(300)
async def test_a_worker_killed_mid_run_leaves_no_container_and_the_run_is_scored_once(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    # time_s 600: waiting out its time limit would take 20 minutes. Its worker's heartbeat expires
    # 20 s after the kill, and the reconciler (every 30 s, reconcile_after_s 2) then hands it to
    # another: rerun within 20 + 30 s, plus the run itself.
    settings = settings.with_(reconcile_after_s=2)
    await load_challenge(settings, bundle(tmp_path, time_s=600))
    ada = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sid = (await upload(client, ada, SLUG, SLOW_CODE, filename="code.zip")).json()["id"]
    with worker_process(settings, tmp_path / "doomed.log") as doomed:
        for _ in range(300):
            if (await _submissions(settings))[sid].status == "running" and _containers_of(doomed.pid):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the run did not start")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    assert _containers_of(doomed.pid), "the killed worker's container should outlive it until a sweep"
    killed_at = time.monotonic()
    with worker_process(settings, tmp_path / "next.log"):
        for _ in range(100):  # the next worker sweeps the dead one's container at its start
            if not _containers_of(doomed.pid):
                break
            await asyncio.sleep(0.1)
        swept = not _containers_of(doomed.pid)
        rows = await _until(settings, [sid], {"scored", "failed"}, 120)
    rerun_s = time.monotonic() - killed_at
    assert swept, "the next worker did not remove the dead worker's container"
    assert rows[sid].status == "scored" and rows[sid].attempts == 2, (rows[sid].status, rows[sid].error)
    entries = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
    assert [e["submissions"] for e in entries] == [1]
    print(f"rerun and scored {rerun_s:.1f} s after the kill")


@pytest.mark.timeout(300)
async def test_redis_restarted_with_its_queue_lost_loses_no_submission(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    port = free_port()
    redis, url = start_redis(tmp_path / "first", persistent=False, port=port)
    settings = settings.with_(redis_url=url, reconcile_after_s=1)
    await load_challenge(settings, bundle(tmp_path, per_day=100))
    async with AsyncTestClient(app=create_app(settings)) as api:
        ada = await login(api, "ada")
        ids = [(await upload(api, ada, SLUG, rule_predictions())).json()["id"] for _ in range(10)]
        redis.send_signal(signal.SIGKILL)
        redis.wait()
        redis, _ = start_redis(tmp_path / "second", persistent=False, port=port)  # empty: the queue is gone
        try:
            await asyncio.sleep(1.5)  # older than reconcile_after_s
            with worker_process(settings, tmp_path / "worker.log"):
                rows = await _until(settings, ids, {"scored", "failed"}, 90)
        finally:
            stop_processes([redis])
    assert all(rows[i].status == "scored" and rows[i].attempts == 1 for i in ids), {
        i: (rows[i].status, rows[i].attempts) for i in ids
    }
    assert "re-enqueued 10 stuck submission(s)" in (tmp_path / "worker.log").read_text()


@pytest.mark.timeout(300)
async def test_the_api_killed_during_a_burst_of_uploads_leaves_no_half_written_submission(
    settings: Settings, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path, per_day=500, total=500))
    data = rule_predictions()
    with api_server(settings, tmp_path / "api.log") as (url, api):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            ada = await login(http, "ada")

            results: list[int | str] = []
            enough = asyncio.Event()
            numbers = iter(range(200))

            async def sender() -> None:  # 8 at a time, each file its own bytes
                for n in numbers:
                    try:
                        answer = await upload(http, ada, SLUG, data + b"\n" * n)
                    except httpx.HTTPError as exc:
                        results.append(type(exc).__name__)
                        continue
                    ok = answer.status_code == 202
                    results.append(answer.json()["id"] if ok else f"HTTP {answer.status_code}")
                    if sum(isinstance(r, int) for r in results) >= 20:
                        enough.set()

            senders = [asyncio.create_task(sender()) for _ in range(8)]
            await asyncio.wait_for(enough.wait(), 60)
            api.send_signal(signal.SIGKILL)  # mid-burst: 8 uploads in flight
            await asyncio.gather(*senders)
    accepted = [r for r in results if isinstance(r, int)]
    failed = [r for r in results if not isinstance(r, int)]
    assert accepted and failed, f"the kill should fall inside the burst: {len(accepted)} accepted"
    rows = await _submissions(settings)
    store = BlobStore(settings.blobs_dir)
    assert set(accepted) <= set(rows), "a 202 without its row"
    assert all(store.path(s.sha256).is_file() for s in rows.values()), "a row without its file"
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:  # files with no row: swept, never counted
            await sweep_orphans(session, store, older_than=timedelta(0))
    finally:
        await engine.dispose()
    on_disk = {p.name for p in settings.blobs_dir.rglob("*") if p.is_file()}
    assert on_disk == {s.sha256 for s in rows.values()} | await _challenge_files(settings)
    with api_process(settings, tmp_path / "api-2.log") as url, worker_process(settings, tmp_path / "w.log"):
        done = await _until(settings, list(rows), {"scored", "failed"}, 120)
    assert all(s.status == "scored" for s in done.values())
    print(f"{len(accepted)} accepted, {len(failed)} refused or cut off ({sorted(set(failed))})")


async def _challenge_files(settings: Settings) -> set[str]:
    """The challenges' own stored files (features, labels …, their baselines)."""
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            files = set(await session.exec(select(ChallengeFile.sha256)))
            return files | set(await session.exec(select(Baseline.sha256)))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _breakable(port: int) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A TCP forwarder on loopback to `port`; clearing the event cuts every connection and refuses
    new ones until it is set again (the database "down")."""
    up = asyncio.Event()
    up.set()
    live: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        live.add(writer)
        try:
            while up.is_set() and (chunk := await reader.read(65536)):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            live.discard(writer)
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not up.is_set():
            writer.close()
            return
        far_reader, far_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(reader, far_writer), pipe(far_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.05)
            if not up.is_set():
                for writer in list(live):
                    writer.transport.abort()

    watcher = asyncio.create_task(watch())
    try:
        yield server.sockets[0].getsockname()[1], up
    finally:
        watcher.cancel()
        server.close()


@pytest.mark.timeout(300)
async def test_the_database_gone_for_seconds_delays_scoring_without_losing_it(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    url = make_url(settings.database)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("a database server to lose: SQLite is a file")
    await load_challenge(settings, bundle(tmp_path))
    ada = await login(client, "ada")
    async with _breakable(url.port or 5432) as (port, up):
        far = settings.with_(database_url=url.set(port=port).render_as_string(hide_password=False))
        log = tmp_path / "worker.log"
        with worker_process(far, log):
            for _ in range(300):
                if (await client.get("/api/health")).json()["workers"]:
                    break
                await asyncio.sleep(0.1)
            up.clear()
            await asyncio.sleep(0.3)
            sid = (await upload(client, ada, SLUG, rule_predictions())).json()["id"]
            await asyncio.sleep(5)
            assert (await _submissions(settings))[sid].status == "queued"
            up.set()
            done = await wait_for_status(client, ada, sid, {"scored", "failed"}, 60)
            # The worker's pooled connections were cut too (it does not ping them): a later upload
            # is still scored, once.
            later = (await upload(client, ada, SLUG, rule_predictions())).json()["id"]
            after = await wait_for_status(client, ada, later, {"scored", "failed"}, 60)
    assert done["status"] == "scored", done
    assert after["status"] == "scored", after
    assert (await _submissions(settings))[later].attempts == 1
    assert "retrying" in log.read_text()


@pytest.mark.timeout(120)
async def test_the_api_replaces_connections_the_database_dropped_while_they_sat_idle(
    settings: Settings, tmp_path: Path
) -> None:
    """The API tests a pooled connection only when it sat idle (a ping is three round trips): after
    the database dropped every connection, the requests that follow still succeed."""
    url = make_url(settings.database)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("a database server to lose: SQLite is a file")
    await load_challenge(settings, bundle(tmp_path))
    async with _breakable(url.port or 5432) as (port, up):
        far = settings.with_(database_url=url.set(port=port).render_as_string(hide_password=False))
        with api_process(far, tmp_path / "api.log") as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                ada = await login(http, "ada")
                # Several pooled connections, each used once.
                warm = await asyncio.gather(*(http.get("/api/me/challenges", headers=ada) for _ in range(6)))
                up.clear()  # the database restarts: every connection is cut
                await asyncio.sleep(0.3)
                up.set()
                await asyncio.sleep(PING_AFTER_IDLE_S + 0.5)
                after = [(await http.get("/api/me/challenges", headers=ada)).status_code for _ in range(8)]
    assert [r.status_code for r in warm] == [200] * 6
    assert after == [200] * 8


async def test_a_redis_connection_opened_across_a_stalled_event_loop_does_not_fail(clean_redis: str) -> None:
    """A worker's event loop can stall for a second (a container starting, a bootstrap pass) just as
    a job opens a new Redis connection: arq's default of one second to connect then failed the job."""
    pool = await create_pool(redis_settings(clean_redis))
    try:
        await pool.connection_pool.disconnect()  # the next command opens a new connection
        command = asyncio.ensure_future(pool.set("riality:stall", "1"))
        await asyncio.sleep(0)  # the command is connecting
        time.sleep(1.5)  # noqa: ASYNC251 - the stall is the point
        assert await command
    finally:
        await pool.aclose()


async def test_a_request_that_finds_no_database_connection_free_is_told_to_come_back(
    settings: Settings, tmp_path: Path
) -> None:
    """In a rush every pooled connection can be busy: the client gets a 503 with Retry-After (it may
    retry), not a 500, and nothing of the refused upload is kept."""
    settings = settings.with_(db_pool_size=1, db_pool_overflow=0, db_pool_timeout_s=0.3)
    await load_challenge(settings, bundle(tmp_path))
    app = create_app(settings)
    async with AsyncTestClient(app=app) as api:
        ada = await login(api, "ada")
        stored = sorted(settings.blobs_dir.rglob("*"))
        held, done = threading.Event(), threading.Event()

        async def hold_the_only_connection() -> None:  # in the app's own event loop, as a request would
            async with app.state.sessions() as session:
                await session.connection()
                held.set()
                await asyncio.to_thread(done.wait, 30)

        holding = api.blocking_portal.start_task_soon(hold_the_only_connection)
        assert held.wait(10)
        try:
            refused = await upload(api, ada, SLUG, rule_predictions())
        finally:
            done.set()
            await asyncio.wrap_future(holding)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["detail"].startswith("the server is busy: no database connection came free")
        assert sorted(settings.blobs_dir.rglob("*")) == stored
        assert (await upload(api, ada, SLUG, rule_predictions())).status_code == 202
    assert [s.status for s in (await _submissions(settings)).values()] == ["queued"]
