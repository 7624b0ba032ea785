"""Many workers on one Redis and one database: fair lanes, a per-team cap, exactly-once scoring,
GPU routing and `riality status`, with real worker processes and real containers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from core.db import create_engine, create_sessionmaker
from core.models import Submission
from core.queue import ArqQueue
from core.scheduling import PREDICTIONS_LANE, Placement
from core.settings import Settings
from tests.conftest import api_process, run_cli, worker_process
from tests.helpers import (
    announce_sandbox_worker,
    drain_queue,
    load_challenge,
    login,
    until_workers,
    upload,
    wait_for_status,
)
from tests.integration.test_model_and_code import PREDICT_RULE, SLUG, bundle, rule_predictions, zip_bytes
from tests.netns import HOST_SIDE, forward, namespace

CODE = zip_bytes({"predict.py": PREDICT_RULE})
# Writes predictions only where the worker gave the run a GPU (a fake one here: the variable).
GPU_RULE = zip_bytes(
    {
        "predict.py": "import os\n"
        "assert os.environ.get('RIALITY_FAKE_GPUS') == '1', 'no GPU was given'\n" + PREDICT_RULE
    }
)


async def _rows(settings: Settings) -> dict[int, tuple[str, int]]:
    """Every submission's (status, attempts), straight from the database."""
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.exec(select(Submission.id, Submission.status, Submission.attempts))
            return {sid: (status, attempts) for sid, status, attempts in rows if sid is not None}
    finally:
        await engine.dispose()


async def _challenge_and_ada(settings: Settings, client: AsyncTestClient, tmp_path: Path) -> dict[str, str]:
    await load_challenge(settings, bundle(tmp_path, per_day=300, total=300))
    return await login(client, "ada")


async def _flood(
    client: AsyncTestClient, settings: Settings, headers: dict[str, str], data: bytes, n: int
) -> list[int]:
    ids = []
    for i in range(n):
        if i % 40 == 0:  # the API accepts code only while a live worker's heartbeat says it can run it
            await announce_sandbox_worker(settings)
        response = await upload(client, headers, SLUG, data, filename="code.zip")
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


@pytest.mark.timeout(600)
async def test_one_teams_flood_of_code_does_not_starve_another_team(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path, per_day=300, total=300))
    ada, bob = await login(client, "ada"), await login(client, "bob")
    flood = await _flood(client, settings, ada, CODE, 200)
    (single,) = await _flood(client, settings, bob, CODE, 1)
    capped = settings.with_(team_sandbox_runs=1, sandbox_concurrency=2)
    started = time.monotonic()
    peak = 0
    with worker_process(capped, tmp_path / "worker.log"):
        while True:
            rows = await _rows(settings)
            peak = max(peak, sum(rows[i][0] == "running" for i in flood))
            if rows[single][0] in ("scored", "failed"):
                break
            assert time.monotonic() - started < 300, "the other team's submission was not scored"
            await asyncio.sleep(0.05)
        waited = time.monotonic() - started
        scored_before = sum(rows[i][0] == "scored" for i in flood)
    assert rows[single][0] == "scored"
    # Round-robin puts bob's only submission right after ada's first; the cap leaves it a slot.
    assert scored_before <= 3, (scored_before, waited)
    assert peak <= 1, f"ada had {peak} runs at once under a cap of 1"
    print(f"bob's submission scored {waited:.1f} s after the worker started, after {scored_before} of ada's")


async def test_prediction_files_take_turns_between_teams(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, bundle(Path(settings.data_dir).parent, per_day=300, total=300))
    ada, bob = await login(client, "ada"), await login(client, "bob")
    data = rule_predictions()
    flood = [(await upload(client, ada, SLUG, data)).json()["id"] for _ in range(60)]
    single = (await upload(client, bob, SLUG, data)).json()["id"]
    await drain_queue(settings.with_(worker_max_jobs=1))
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            order = list(
                await session.exec(
                    select(Submission.id).order_by(col(Submission.finished_at), col(Submission.id))
                )
            )
    finally:
        await engine.dispose()
    assert len(order) == 61 and set(order) == {*flood, single}
    assert order.index(single) == 1, f"bob's file was scored {order.index(single) + 1}th of 61"


@pytest.mark.timeout(300)
async def test_two_workers_score_each_submission_once_despite_duplicated_jobs(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    ada = await _challenge_and_ada(settings, client, tmp_path)
    ids = [(await upload(client, ada, SLUG, rule_predictions())).json()["id"] for _ in range(40)]
    queue = await ArqQueue.connect(settings.redis_url)
    try:  # every job twice more: what at-least-once delivery and a reconciler round may do
        for attempt in ("dup1", "dup2"):
            for sid in ids:
                await queue.enqueue_evaluation(sid, Placement(PREDICTIONS_LANE, 0), attempt=attempt)
    finally:
        await queue.close()
    one, two = tmp_path / "one.log", tmp_path / "two.log"
    slow = {"RIALITY_WORKER_MAX_JOBS": "2"}  # neither drains the queue alone before the other starts
    with worker_process(settings, one, **slow), worker_process(settings, two, **slow):
        for _ in range(600):
            rows = await _rows(settings)
            if all(rows[i][0] == "scored" for i in ids):
                break
            await asyncio.sleep(0.1)
    assert all(rows[i] == ("scored", 1) for i in ids), {i: rows[i] for i in ids if rows[i] != ("scored", 1)}
    entries = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
    assert len(entries) == 1 and entries[0]["submissions"] == 40
    for log in (one, two):
        assert "evaluate(" in log.read_text(), f"{log.name} took no job"


@pytest.mark.timeout(300)
async def test_gpu_runs_go_only_to_a_worker_that_offers_gpus(settings: Settings, tmp_path: Path) -> None:
    await load_challenge(settings, bundle(tmp_path, gpus=1))
    with api_process(settings, tmp_path / "api.log") as api:
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            ada = await login(http, "ada")
            with worker_process(settings, tmp_path / "cpu.log"):
                await until_workers(http, 1)
                refused = await upload(http, ada, SLUG, GPU_RULE, filename="code.zip")
                assert (
                    refused.status_code == 503
                    and "no live worker offers 1 GPU(s)" in refused.json()["detail"]
                )
                with worker_process(
                    settings, tmp_path / "gpu.log", RIALITY_WORKER_GPUS="1", RIALITY_WORKER_FAKE_GPUS="1"
                ):
                    workers = await until_workers(http, 2)
                    assert sorted(w["gpus"] for w in workers) == [0, 1]
                    accepted = await upload(http, ada, SLUG, GPU_RULE, filename="code.zip")
                    assert accepted.status_code == 202, accepted.text
                    sid = accepted.json()["id"]
                    for _ in range(900):
                        if (await _rows(settings))[sid][0] in ("scored", "failed"):
                            break
                        await asyncio.sleep(0.1)
            done = (await http.get(f"/api/submissions/{sid}", headers=ada)).json()
    assert done["status"] == "scored", done
    assert f"evaluate({sid})" in (tmp_path / "gpu.log").read_text()
    assert f"evaluate({sid})" not in (tmp_path / "cpu.log").read_text()


@pytest.mark.timeout(300)
async def test_status_shows_lanes_live_workers_and_the_oldest_waiting_submission(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    ada = await _challenge_and_ada(settings, client, tmp_path)
    await announce_sandbox_worker(settings)
    first = (await upload(client, ada, SLUG, CODE, filename="code.zip")).json()["id"]
    await upload(client, ada, SLUG, rule_predictions())
    idle = json.loads(run_cli(settings, "status", "--json").stdout)
    lanes = {lane["name"]: lane for lane in idle["lanes"]}
    assert lanes["sandbox"]["waiting"] == 1 and lanes["predictions"]["waiting"] == 1
    assert idle["queued"] == 2 and idle["oldest"]["submission_id"] == first
    assert idle["oldest"]["why"] == "no live worker takes the sandbox lane"
    with worker_process(settings, tmp_path / "worker.log"):
        for _ in range(600):
            status = json.loads(run_cli(settings, "status", "--json").stdout)
            if status["queued"] == 0 and status["running"] == 0:
                break
            await asyncio.sleep(0.2)
        shown = run_cli(settings, "status").stdout
    # The heartbeat announce_sandbox_worker sent for the uploads may still be live: it takes no lane.
    (worker,) = [w for w in status["workers"] if w["lanes"]]
    assert worker["docker"] and worker["slots"] >= 1 and worker["host"]
    assert worker["lanes"] == [PREDICTIONS_LANE, "riality:queue:sandbox"]
    assert status["oldest"] is None
    assert "Live workers" in shown and worker["worker"] in shown and "No submission is waiting." in shown


@contextlib.asynccontextmanager
async def _database_from_outside(settings: Settings) -> AsyncIterator[str]:
    """The database URL as a worker on the other host sees it: PostgreSQL through a forwarder;
    SQLite is a file in the shared data dir's tree, reached through the filesystem."""
    url = make_url(settings.database)
    if not url.drivername.startswith("postgresql"):
        yield settings.database
        return
    async with forward(url.port or 5432, target_host=url.host or "127.0.0.1") as port:
        yield url.set(host=HOST_SIDE, port=port).render_as_string(hide_password=False)


@pytest.mark.timeout(300)
async def test_a_worker_on_a_second_host_needs_only_redis_the_database_and_the_data_dir(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI runs as root)")
    ada = await _challenge_and_ada(settings, client, tmp_path)
    redis_port = make_url(settings.redis_url.replace("redis://", "postgresql://")).port or 6379
    log = tmp_path / "far-worker.log"
    with namespace() as far:
        reach = f"import socket; socket.create_connection(('127.0.0.1', {redis_port}), 2)"
        probe = await asyncio.create_subprocess_exec(
            *far.command(sys.executable, "-c", reach), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert await probe.wait() != 0, "this host's loopback Redis is reachable from the namespace"
        async with forward(redis_port) as redis_from_far, _database_from_outside(settings) as database:
            remote = settings.with_(
                redis_url=f"redis://{HOST_SIDE}:{redis_from_far}/0", database_url=database
            )
            with log.open("wb") as out:
                worker = await asyncio.create_subprocess_exec(
                    *far.command(sys.executable, "-m", "server.cli", "worker"),
                    env={**os.environ, **remote.to_env()},
                    stdout=out,
                    stderr=out,
                )
            try:
                beats = []
                for _ in range(300):  # its heartbeat crosses the veth pair to our Redis
                    if beats := (await client.get("/api/health")).json()["workers"]:
                        break
                    await asyncio.sleep(0.1)
                assert beats and beats[0]["docker"], (beats, log.read_text()[-2000:])
                sent = [
                    (await upload(client, ada, SLUG, rule_predictions())).json()["id"],
                    (await upload(client, ada, SLUG, CODE, filename="code.zip")).json()["id"],
                ]
                for sid in sent:
                    done = await wait_for_status(client, ada, sid, {"scored", "failed"}, 120)
                    assert done["status"] == "scored", (done, log.read_text()[-2000:])
            finally:
                if worker.returncode is None:  # a worker that already died must not hide why
                    worker.terminate()
                try:
                    await asyncio.wait_for(worker.wait(), 15)
                except TimeoutError:
                    worker.kill()
                    await worker.wait()
    assert all(f"evaluate({sid})" in log.read_text() for sid in sent)
