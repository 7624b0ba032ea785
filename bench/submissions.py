"""Benchmark: sustained scored submissions per second and upload→scored latency.

Starts a real deployment on this machine (a private Redis, SQLite or the database you name, the
API under uvicorn and one arq worker, each in its own process), loads a generated challenge with a
10k-row hidden test set, then runs N closed-loop clients: each uploads a valid CSV of predictions,
waits for the worker's "board changed" event for it, and uploads again.

    .venv/bin/python bench/submissions.py --clients 8 --seconds 30

Prints throughput, latency p50/p95, the share of each step (upload request, queue wait, scoring),
and an in-process profile of the scoring step, the slowest part.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import redis.asyncio as aioredis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import profiling  # noqa: E402
from databases import fresh_database  # noqa: E402

from core.queue import board_channel  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.workers import live_workers  # noqa: E402
from runner.evaluation import _score_file  # noqa: E402
from scoring.validate import FileFormat  # noqa: E402
from server.processes import free_port, start_redis, stop_processes, wait_for_port  # noqa: E402

SLUG = "bench-10k"
PASSWORD = "bench-password-1"


def make_bundle(folder: Path, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    ids = [f"r{i:06d}" for i in range(rows)]
    x = rng.normal(size=(rows, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 1, rows) > 0).astype(int)
    (folder / "data").mkdir(parents=True)
    (folder / "hidden").mkdir()
    features = pd.DataFrame(x.round(4), columns=["f0", "f1", "f2", "f3"]).assign(id=ids)[
        ["id", "f0", "f1", "f2", "f3"]
    ]
    features.to_csv(folder / "data" / "test.csv", index=False)
    pd.DataFrame({"id": ids, "label": y}).to_csv(folder / "hidden" / "labels.csv", index=False)
    manifest = {
        "slug": SLUG,
        "title": "Benchmark, 10k rows",
        "metric": "roc_auc",
        "extra_metrics": ["accuracy", "f1"],
        "target_column": "label",
        "limits": {"per_day": 1_000_000, "total": 1_000_000},
        "data": {"test_features": "data/test.csv", "test_labels": "hidden/labels.csv"},
    }
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return features


@dataclass
class Sample:
    sent: float  # wall clock (epoch s) just before the upload
    accepted: float  # when the 202 came back
    scored_event: float  # when the client heard the board event
    created_at: float
    started_at: float
    finished_at: float


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def client_loop(
    base: str,
    index: int,
    payload: bytes,
    stop_at: float,
    events: dict[int, asyncio.Future[float]],
    samples: list[Sample],
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        name = f"bench{index:03d}"
        await http.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        token = (await http.post("/api/auth/token", json={"username": name, "password": PASSWORD})).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        pending: list[tuple[int, float, float, asyncio.Future[float]]] = []
        while time.time() < stop_at:
            sent = time.time()
            response = await http.post(
                f"/api/challenges/{SLUG}/submissions",
                files={"file": ("p.csv", payload, "text/csv")},
                headers=headers,
            )
            accepted = time.time()
            if response.status_code != 202:
                raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
            submission_id = response.json()["id"]
            future = events.setdefault(submission_id, asyncio.get_running_loop().create_future())
            heard = await asyncio.wait_for(future, timeout=60)
            pending.append((submission_id, sent, accepted, heard))  # type: ignore[arg-type]
        for submission_id, sent, accepted, heard in pending:
            body = (await http.get(f"/api/submissions/{submission_id}", headers=headers)).json()
            if body["status"] != "scored":
                raise RuntimeError(f"submission {submission_id} ended {body['status']}: {body['error']}")
            samples.append(
                Sample(
                    sent,
                    accepted,
                    heard,
                    _epoch(body["created_at"]),
                    _epoch(body["started_at"]),
                    _epoch(body["finished_at"]),
                )  # type: ignore[arg-type]
            )


async def listen(redis_url: str, events: dict[int, asyncio.Future[float]], ready: asyncio.Event) -> None:
    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(board_channel(SLUG))
    ready.set()
    try:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            now = time.time()
            submission_id = json.loads(message["data"]).get("submission")
            if submission_id is None:  # a whole-board message (an uncertainty pass), not a score
                continue
            future = events.setdefault(submission_id, asyncio.get_running_loop().create_future())
            if not future.done():
                future.set_result(now)
    finally:
        await pubsub.aclose()
        await client.aclose()


def cpu_seconds(
    children: list[subprocess.Popen[bytes]], redis_process: subprocess.Popen[bytes]
) -> dict[str, float]:
    """CPU time (user + system) used so far by each part of the deployment, and by these clients."""

    def used(pid: int) -> float:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system

    own = psutil.Process().cpu_times()
    return {
        "api": used(children[0].pid),
        "workers": sum(used(c.pid) for c in children[1:]),
        "redis": used(redis_process.pid),
        "postgres": _postgres_cpu(),
        "bench clients": own.user + own.system,
    }


def _postgres_cpu() -> float:
    """Every PostgreSQL process on this machine (0 on SQLite, which runs inside the API and workers)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def report_closed_loop(samples: list[Sample], seconds: float, cpu_s: dict[str, float]) -> None:
    """The closed loop's rate, latencies and the CPU of each process per scored submission."""
    if not samples:
        print(f"  closed loop: no submission scored in {seconds:.0f} s (too short for the workers' start)")
        return
    latency = [s.scored_event - s.sent for s in samples]
    upload = [s.accepted - s.sent for s in samples]
    queued = [s.started_at - s.created_at for s in samples]
    scoring = [s.finished_at - s.started_at for s in samples]
    window = max(s.scored_event for s in samples) - min(s.sent for s in samples)
    print(
        f"  scored submissions:        {len(samples)} in {window:.1f} s = {len(samples) / window:.1f} /s  (closed loop: the API, workers and these clients share the cores)"
    )
    print(
        f"  upload->scored latency:    p50 {pct(latency, 50):.0f} ms, p95 {pct(latency, 95):.0f} ms  (goals 100 / 250 ms)"
    )
    print(f"  upload request (202):      p50 {pct(upload, 50):.0f} ms, p95 {pct(upload, 95):.0f} ms")
    print(f"  queue wait (created->run): p50 {pct(queued, 50):.0f} ms, p95 {pct(queued, 95):.0f} ms")
    print(f"  scoring (run->finished):   p50 {pct(scoring, 50):.0f} ms, p95 {pct(scoring, 95):.0f} ms")
    print(
        f"  mean of steps: upload {statistics.mean(upload) * 1000:.0f} ms, queue {statistics.mean(queued) * 1000:.0f} ms, "
        f"scoring {statistics.mean(scoring) * 1000:.0f} ms"
    )
    shares = ", ".join(f"{name} {cpu / len(samples) * 1000:.1f} ms" for name, cpu in cpu_s.items())
    print(f"  CPU per scored submission: {shares}")


async def run_clients(
    base: str, redis_url: str, clients: int, seconds: float, payload: bytes
) -> list[Sample]:
    events: dict[int, asyncio.Future[float]] = {}
    ready = asyncio.Event()
    listener = asyncio.create_task(listen(redis_url, events, ready))
    await ready.wait()
    samples: list[Sample] = []
    start = time.time()
    await asyncio.gather(
        *(client_loop(base, i, payload, start + seconds, events, samples) for i in range(clients))
    )
    listener.cancel()
    return samples


@dataclass
class Drained:
    count: int
    seconds: float  # from the first scored to the last (the workers' start-up left out)
    worker_cpu_s: float  # over the same span


async def workers_ready(redis_url: str, wanted: int, timeout_s: float = 120) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout_s
        while len(await live_workers(client)) < wanted:
            if time.monotonic() > deadline:
                raise SystemExit(f"{wanted} worker(s) did not beat within {timeout_s:.0f} s")
            await asyncio.sleep(0.2)
    finally:
        await client.aclose()


async def drain(
    base: str, redis_url: str, count: int, payload: bytes, start_workers: Callable[[], Callable[[], float]]
) -> Drained:
    """Queue `count` uploads with no worker running, then start the workers and time them scoring
    the queue (the worker tier's own rate, as after a deadline rush)."""
    events: dict[int, asyncio.Future[float]] = {}
    ready = asyncio.Event()
    listener = asyncio.create_task(listen(redis_url, events, ready))
    await ready.wait()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await http.post("/api/auth/register", json={"username": "drainer", "password": PASSWORD})
        token = (
            await http.post("/api/auth/token", json={"username": "drainer", "password": PASSWORD})
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        ids = []
        for _ in range(count):
            response = await http.post(
                f"/api/challenges/{SLUG}/submissions",
                files={"file": ("p.csv", payload, "text/csv")},
                headers=headers,
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
    loop = asyncio.get_running_loop()
    worker_cpu = await loop.run_in_executor(None, start_workers)
    heard = [events.setdefault(i, loop.create_future()) for i in ids]
    first = await asyncio.wait_for(asyncio.wait(heard, return_when=asyncio.FIRST_COMPLETED), timeout=120)
    first_at, cpu_at_first = min(f.result() for f in first[0]), worker_cpu()
    times = await asyncio.wait_for(asyncio.gather(*heard), timeout=600)
    listener.cancel()
    return Drained(count - 1, max(times) - first_at, worker_cpu() - cpu_at_first)


def profile_scoring(bundle: Path, payload: bytes) -> str:
    """Where the worker's time goes for one 10k-row file (the same function the worker calls)."""
    from challenges.bundle import load_bundle

    spec = load_bundle(bundle).spec
    truth = spec.read_truth((bundle / "hidden" / "labels.csv").read_bytes())
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        _score_file(spec, truth, payload, FileFormat.CSV)
    per_file = (time.perf_counter() - start) / runs * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        _score_file(spec, truth, payload, FileFormat.CSV)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(12)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return f"validate + score one file in-process: {per_file:.1f} ms\n" + "\n".join(lines[:24])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="arq worker processes")
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server (a fresh database is made on it); default: SQLite",
    )
    parser.add_argument("--profile", action="store_true", help="sample the API and the workers with py-spy")
    parser.add_argument(
        "--drain",
        type=int,
        default=0,
        metavar="N",
        help="also: queue N uploads, then time the workers scoring them",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="riality-bench-") as tmp,
        fresh_database(args.database_url, "riality_bench") as database_url,
    ):
        root = Path(tmp)
        features = make_bundle(root / "bundle", args.rows)
        rng = np.random.default_rng(5)
        payload = (
            pd.DataFrame({"id": features["id"], "label": rng.random(args.rows).round(6)})
            .to_csv(index=False)
            .encode()
        )
        redis_process, redis_url = start_redis(root, persistent=False)
        settings = Settings(
            data_dir=root / "data", database_url=database_url, redis_url=redis_url, port=free_port()
        )
        env = {**os.environ, **settings.to_env()}
        cli = [sys.executable, "-m", "server.cli"]
        subprocess.run(
            [*cli, "challenge", "load", str(root / "bundle")], env=env, check=True, capture_output=True
        )
        quiet = {"stderr": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
        children = [subprocess.Popen([*cli, "api"], env=env, **quiet)]  # type: ignore[call-overload]

        drain_spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

        def start_workers() -> Callable[[], float]:
            workers = [subprocess.Popen([*cli, "worker"], env=env, **quiet) for _ in range(args.workers)]  # type: ignore[call-overload]
            children.extend(workers)
            if args.profile and args.drain:  # the drain's own profile: start-up is a small share of it
                for n, worker in enumerate(workers):
                    output = root / f"drain-{n + 1}.spy"
                    drain_spies[f"worker {n + 1}"] = (profiling.record(worker.pid, 600, output), output)
            return lambda: sum(sum(psutil.Process(w.pid).cpu_times()[:2]) for w in workers)

        drained = None
        try:
            wait_for_port(settings.port, timeout=60, process=children[0])
            base = f"http://127.0.0.1:{settings.port}"
            if args.drain:
                drained = asyncio.run(drain(base, redis_url, args.drain, payload, start_workers))
                for spy, _ in drain_spies.values():
                    profiling.stop(spy)
            else:
                start_workers()
            # The clock starts once every worker beats (its imports done): a worker still importing
            # would count its start-up CPU against the submissions, and score none meanwhile.
            asyncio.run(workers_ready(redis_url, args.workers))
            before = cpu_seconds(children, redis_process)
            spies = {
                name: (profiling.record(child.pid, args.seconds, root / f"{name}.spy"), root / f"{name}.spy")
                for name, child in zip(
                    ["api"] + [f"worker {n + 1}" for n in range(args.workers)], children, strict=True
                )
                if args.profile
            }
            samples = asyncio.run(run_clients(base, redis_url, args.clients, args.seconds, payload))
            after = cpu_seconds(children, redis_process)
            for spy, _ in spies.values():
                spy.wait(30)
        finally:
            stop_processes(children)
            stop_processes([redis_process])
        print(
            f"riality submissions benchmark: {args.clients} clients, {args.seconds:.0f} s, {args.rows:,}-row test set, "
            f"{len(payload):,}-byte CSV, {args.workers} worker(s), database {'SQLite' if not args.database_url else args.database_url.split(':')[0]}"
        )
        report_closed_loop(samples, args.seconds, {name: after[name] - before[name] for name in after})
        if drained is not None:
            print(
                f"  drain: {drained.count} queued uploads scored in {drained.seconds:.1f} s = "
                f"{drained.count / drained.seconds:.1f} /s by {args.workers} worker(s), "
                f"worker CPU {drained.worker_cpu_s / drained.count * 1000:.1f} ms each  "
                f"(goal with 2 workers on 2 cores: >= {100 if args.database_url else 50}/s)"
            )
        for name, (_, output) in drain_spies.items():
            print(f"{name} during the drain, CPU per scored submission by function (py-spy):")
            print(profiling.summarise(output, max(1, args.drain // args.workers)))
        print(profile_scoring(root / "bundle", payload))
        for name, (_, output) in spies.items():  # sampled over the whole run: per scored submission
            print(f"{name}, CPU per scored submission by function (py-spy):")
            print(profiling.summarise(output, len(samples)))


if __name__ == "__main__":
    main()
