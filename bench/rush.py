"""Benchmark: the last minute of a big contest against `riality up` (PostgreSQL, N workers).

1,000 teams each upload one prediction file at a random moment of a 60 s window, while 500
spectators hold the live board stream open and 200 clients poll the board once a second. Prints
uploads accepted, errors (the goal: none), the time from the last upload until every submission
is on the board (goal: within 60 s), upload and board-read latency percentiles during the rush,
each process's CPU, and so the bottleneck.

    .venv/bin/python bench/rush.py --database-url postgresql+asyncpg://riality:riality@127.0.0.1:5432/postgres

The teams' accounts and API tokens are written straight into the database before the rush
(registering 1,000 accounts through the API would time argon2, not the rush).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import profiling  # noqa: E402
from databases import fresh_database  # noqa: E402

from core.db import create_engine, create_sessionmaker  # noqa: E402
from core.models import Token, TokenScope, User  # noqa: E402
from core.settings import Settings  # noqa: E402
from server.processes import free_port, wait_for_port  # noqa: E402
from server.services.accounts import token_digest  # noqa: E402

SLUG = "deadline-rush"
ROWS = 2_000


def make_bundle(folder: Path) -> list[str]:
    rng = np.random.default_rng(3)
    ids = [f"r{i:05d}" for i in range(ROWS)]
    x = rng.normal(size=(ROWS, 3)).round(4)
    y = (x[:, 0] + rng.normal(0, 1, ROWS) > 0).astype(int)
    (folder / "data").mkdir(parents=True)
    (folder / "hidden").mkdir()
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(id=ids)[["id", "a", "b", "c"]].to_csv(
        folder / "data" / "test.csv", index=False
    )
    pd.DataFrame({"id": ids, "label": y}).to_csv(folder / "hidden" / "labels.csv", index=False)
    manifest = {
        "slug": SLUG,
        "title": "Deadline rush",
        "metric": "roc_auc",
        "target_column": "label",
        "limits": {"per_day": 100, "total": 100},
        "data": {"test_features": "data/test.csv", "test_labels": "hidden/labels.csv"},
    }
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return ids


async def make_teams(settings: Settings, teams: int) -> list[str]:
    """Accounts and submit-scoped API tokens for `teams` participants; returns the tokens."""
    engine = create_engine(settings.database)
    secrets_ = [f"rly_rush{i}_{secrets.token_urlsafe(16)}" for i in range(teams)]
    try:
        async with create_sessionmaker(engine)() as session:
            users = [
                User(username=f"team{i:04d}", username_key=f"team{i:04d}", password_hash="!unusable")
                for i in range(teams)
            ]
            session.add_all(users)
            await session.flush()
            session.add_all(
                Token(user_id=u.id, token_hash=token_digest(s), name="rush", scope=TokenScope.SUBMIT)
                for u, s in zip(users, secrets_, strict=True)
                if u.id is not None
            )
            await session.commit()
    finally:
        await engine.dispose()
    return secrets_


@dataclass
class Figures:
    uploads: list[float] = field(default_factory=list)  # seconds, accepted ones
    errors: list[str] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)  # board reads during the rush
    read_errors: list[str] = field(default_factory=list)
    events: int = 0
    streams_open: int = 0
    last_upload: float = 0.0


async def upload(http: httpx.AsyncClient, token: str, payload: bytes, at: float, figures: Figures) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    sent = time.monotonic()
    try:
        answer = await http.post(
            f"/api/challenges/{SLUG}/submissions",
            files={"file": ("predictions.csv", payload, "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        figures.errors.append(type(exc).__name__)
        return
    if answer.status_code != 202:
        figures.errors.append(f"HTTP {answer.status_code}: {answer.text[:120]}")
        return
    figures.uploads.append(time.monotonic() - sent)
    figures.last_upload = max(figures.last_upload, time.monotonic())


async def spectator(base: str, stop: asyncio.Event, figures: Figures) -> None:
    # A client each, as browsers are: one shared pool of hundreds of connections costs the
    # benchmark's own loop more than the server (httpcore scans its waiting requests).
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60, read=None)) as http,
            http.stream("GET", f"/api/challenges/{SLUG}/leaderboard/stream?limit=20") as stream,
        ):
            figures.streams_open += 1
            async for chunk in stream.aiter_raw():  # counted, not parsed: the clients share the 2 cores
                figures.events += chunk.count(b"event: ")
                if stop.is_set():
                    break
    except httpx.HTTPError as exc:
        if not stop.is_set():
            figures.read_errors.append(f"stream: {type(exc).__name__}")


async def poller(base: str, stop: asyncio.Event, figures: Figures) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await _poll(http, stop, figures)


async def _poll(http: httpx.AsyncClient, stop: asyncio.Event, figures: Figures) -> None:
    await asyncio.sleep(random.random())
    while not stop.is_set():
        sent = time.monotonic()
        try:
            answer = await http.get(f"/api/challenges/{SLUG}/leaderboard?limit=50")
            if answer.status_code == 200:
                figures.reads.append(time.monotonic() - sent)
            else:
                figures.read_errors.append(f"HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            figures.read_errors.append(type(exc).__name__)
        await asyncio.sleep(1.0)


async def on_board(http: httpx.AsyncClient) -> int:
    return int((await http.get(f"/api/challenges/{SLUG}/leaderboard?limit=1")).json()["teams"])


def cpu(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return t.user + t.system + t.children_user + t.children_system

    return {name: sum(used(p) for p in group) for name, group in processes.items()}


def groups(up: psutil.Process) -> dict[str, list[psutil.Process]]:
    children = up.children(recursive=True)
    named: dict[str, list[psutil.Process]] = {"api": [], "workers": [], "redis": []}
    for child in children:
        line = " ".join(child.cmdline())
        if "server.cli api" in line:
            named["api"].append(child)
        elif "server.cli worker" in line:
            named["workers"].append(child)
        elif "redis-server" in line:
            named["redis"].append(child)
    named["postgres"] = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    named["bench clients"] = [psutil.Process()]
    return named


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f} ms" if values else "n/a"


async def rush(
    base: str, tokens: list[str], payload: bytes, args: argparse.Namespace, up: psutil.Process
) -> None:
    figures = Figures()
    stop = asyncio.Event()
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as polls,
        httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=200), timeout=60) as uploads,
    ):
        streams = []
        for i in range(args.spectators):  # opened over a few seconds, as a crowd arrives
            streams.append(asyncio.create_task(spectator(base, stop, figures)))
            if i % 50 == 49:
                await asyncio.sleep(0.2)
        for _ in range(100):
            if figures.streams_open >= args.spectators:
                break
            await asyncio.sleep(0.1)
        pollers = [asyncio.create_task(poller(base, stop, figures)) for _ in range(args.pollers)]
        processes = groups(up)
        before = cpu(processes)
        spies = {}
        if args.profile:  # sampled over the upload window
            for name in ("api", "workers"):
                for n, process in enumerate(processes[name]):
                    output = Path(tempfile.gettempdir()) / f"rush-{name}-{n}.spy"
                    spies[f"{name} {n + 1}"] = (profiling.record(process.pid, args.window, output), output)
        start = time.monotonic()
        moments = sorted(start + random.uniform(0, args.window) for _ in tokens)
        await asyncio.gather(
            *(upload(uploads, t, payload, at, figures) for t, at in zip(tokens, moments, strict=True))
        )
        rush_reads = len(figures.reads)
        reads_during = list(figures.reads)
        deadline = figures.last_upload + 300
        on = 0
        while time.monotonic() < deadline:
            on = await on_board(polls)
            if on >= len(figures.uploads):
                break
            await asyncio.sleep(0.1)
        settled = time.monotonic()
        after = cpu(processes)
        stop.set()
        for task in pollers:
            task.cancel()
        for task in streams:
            task.cancel()
        await asyncio.gather(*pollers, *streams, return_exceptions=True)
    span = settled - start
    print(
        f"riality deadline rush: {len(tokens)} teams in {args.window:.0f} s, {args.spectators} live streams, "
        f"{args.pollers} board pollers, {args.workers} workers, {ROWS:,}-row test set ({len(payload):,}-byte CSV)"
    )
    print(f"  uploads accepted:           {len(figures.uploads)} of {len(tokens)}")
    print(f"  upload errors:              {len(figures.errors)}  {sorted(set(figures.errors))[:5]}")
    print(f"  board-read errors:          {len(figures.read_errors)}  {sorted(set(figures.read_errors))[:5]}")
    print(
        f"  on the board:               {on} teams, {settled - figures.last_upload:.1f} s after the last upload (goal <= 60 s)"
    )
    print(
        f"  upload latency:             p50 {pct(figures.uploads, 50)}, p95 {pct(figures.uploads, 95)}, p99 {pct(figures.uploads, 99)}"
    )
    print(
        f"  board reads during the rush: {rush_reads}, p50 {pct(reads_during, 50)}, p95 {pct(reads_during, 95)}, p99 {pct(reads_during, 99)}"
    )
    print(f"  stream events received:     {figures.events} by {figures.streams_open} streams")
    used = {name: after[name] - before[name] for name in after}
    print(
        f"  CPU over {span:.0f} s (2 cores = {2 * span:.0f} core-s): "
        + ", ".join(f"{n} {s:.1f} s" for n, s in used.items())
    )
    busiest = max((n for n in used if n != "bench clients"), key=lambda n: used[n])
    print(f"  busiest server process group: {busiest} ({used[busiest] / span * 100:.0f} % of one core)")
    for name, (spy, output) in spies.items():
        spy.wait(60)
        print(f"{name}, CPU per upload by function (py-spy, over the upload window):")
        print(profiling.summarise(output, len(figures.uploads)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL server's URL (a database is made on it)"
    )
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--spectators", type=int, default=500)
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="sample the API and the workers with py-spy")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 700 open streams, and the API's side
    random.seed(7)
    with tempfile.TemporaryDirectory(prefix="riality-rush-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        ids = make_bundle(root / "bundle")
        url = stack.enter_context(fresh_database(args.database_url, "riality_rush"))
        settings = Settings(data_dir=root / "data", database_url=url, port=free_port())
        env = {**os.environ, **{k: v for k, v in settings.to_env().items() if k != "REDIS_URL"}}
        env.pop("REDIS_URL", None)  # riality up starts its own Redis
        cli = [sys.executable, "-m", "server.cli"]
        up = subprocess.Popen(
            [*cli, "up", "--no-examples", "--workers", str(args.workers), "--port", str(settings.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(settings.port, timeout=120, process=up)
            subprocess.run(
                [*cli, "challenge", "load", str(root / "bundle")], env=env, check=True, capture_output=True
            )
            tokens = asyncio.run(make_teams(settings, args.teams))
            rng = np.random.default_rng(9)
            payload = (
                pd.DataFrame({"id": ids, "label": rng.random(ROWS).round(5)}).to_csv(index=False).encode()
            )
            time.sleep(3)  # the workers' first heartbeat and reconciler pass
            asyncio.run(
                rush(f"http://127.0.0.1:{settings.port}", tokens, payload, args, psutil.Process(up.pid))
            )
        finally:
            up.terminate()
            up.wait(60)


if __name__ == "__main__":
    main()
