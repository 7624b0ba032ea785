"""Benchmark: leaderboard reads and live fan-out on a generated challenge (10k teams, 1M submissions).

Builds the data straight into a fresh SQLite database, starts a private Redis and one `riality api`
process, then measures:
  1. the cold build of the board (the first read in a fresh API process: every team read),
  2. cached reads of the board's first page with wrk (requests/s and p50/p99),
  3. live fan-out: N open streams; a new best score is written and published as the worker does
     (--rounds times); the time from that publish to the last stream receiving the new board.

    .venv/bin/python bench/boards.py --teams 10000 --submissions 1000000 --streams 1000
Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import httpx
import numpy as np
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.queue import board_channel, board_message  # noqa: E402
from core.settings import Settings  # noqa: E402
from server.processes import free_port, start_redis, stop_processes, wait_for_port  # noqa: E402

SLUG = "tumour-detection"
BUNDLE = ROOT / "challenges" / "examples" / SLUG


def populate(db: Path, teams: int, submissions: int) -> float:
    """Users, one-person teams and scored submissions, written with plain SQL (the fastest way in)."""
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    (challenge_id,) = connection.execute("SELECT id FROM challenge WHERE slug = ?", (SLUG,)).fetchone()
    now = datetime.now(UTC).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    connection.executemany(
        "INSERT INTO user (id, username, username_key, password_hash, role, created_at) VALUES (?, ?, ?, 'x', 'participant', ?)",
        ((i, f"u{i}", f"u{i}", stamp) for i in range(1, teams + 1)),
    )
    connection.executemany(
        "INSERT INTO team (id, challenge_id, name, invite_code, created_at, submission_seq, submissions) "
        "VALUES (?, ?, ?, ?, ?, 0, 0)",
        ((i, challenge_id, f"team {i:05d}", f"code{i}", stamp) for i in range(1, teams + 1)),
    )
    team_of = rng.integers(1, teams + 1, submissions)
    public = rng.beta(8, 3, submissions).round(6)
    private = np.clip(public + rng.normal(0, 0.02, submissions), 0, 1).round(6)
    offsets = np.sort(rng.uniform(0, 3 * 24 * 3600, submissions))
    base = now - timedelta(days=3)
    rows = (
        (
            challenge_id, int(t), int(t), "predictions", "csv", "p.csv", "0" * 64, 1000, "scored", 1, 0, 1,
            float(p), float(q), json.dumps({"public": {"roc_auc": float(p)}, "private": {"roc_auc": float(q)}}),
            (base + timedelta(seconds=float(o))).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        for t, p, q, o in zip(team_of, public, private, offsets, strict=True)
    )  # fmt: skip
    connection.executemany(
        "INSERT INTO submission (challenge_id, team_id, user_id, kind, file_format, filename, sha256, size, status, "
        "counts_toward_quota, final, attempts, public_score, private_score, metrics, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    # What the API and the worker maintain as they go: per-team counts and each team's best submission.
    connection.execute(
        "UPDATE team SET submissions = (SELECT count(*) FROM submission s WHERE s.team_id = team.id), "
        "last_submission_at = (SELECT max(created_at) FROM submission s WHERE s.team_id = team.id)"
    )
    connection.execute(
        "INSERT INTO teambest (team_id, challenge_id, submission_id, public_score, created_at) "
        "SELECT team_id, challenge_id, id, public_score, created_at FROM (SELECT *, ROW_NUMBER() OVER "
        "(PARTITION BY team_id ORDER BY public_score DESC, created_at, id) AS rn FROM submission) WHERE rn = 1"
    )
    connection.commit()
    connection.close()
    return time.perf_counter() - start


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str, str]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\s50%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    return rate, p50, p99


@dataclass
class FanOut:
    opened_in: float  # seconds to open every stream and receive its snapshot
    first_ms: list[float]  # per round: publish -> first stream with the new board
    last_ms: list[float]  # per round: publish -> last stream with the new board


async def fan_out(base: str, redis_url: str, db: Path, streams: int, limit: int, rounds: int) -> FanOut:
    """Open `streams` streams; `rounds` times, write a new best score for team 1 and publish it as the
    worker does, and time until every stream has received the new board."""
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"GET /api/challenges/{SLUG}/leaderboard/stream?limit={limit} HTTP/1.1\r\n"
        f"Host: {host}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    ready = asyncio.Event()
    opened = 0
    received: list[float] = []
    all_received = asyncio.Event()

    async def follow() -> None:
        # Plain sockets, not an HTTP client library: the client shares the 2 cores with the server,
        # so it must cost as little as possible. Chunk-size lines are skipped like any other line.
        nonlocal opened
        reader, writer = await asyncio.open_connection(host, int(port), limit=2**22)
        writer.write(request)
        event = None
        try:
            while line := await reader.readline():
                if line.startswith(b"event:"):
                    event = line[6:].strip()
                elif line.startswith(b"data:") and event == b"snapshot":
                    opened += 1
                    if opened == streams:
                        ready.set()
                elif line.startswith(b"data:") and event == b"board":
                    received.append(time.perf_counter())
                    if len(received) == streams:
                        all_received.set()
        finally:
            writer.close()

    tasks = [asyncio.create_task(follow()) for _ in range(streams)]
    opening = time.perf_counter()
    await asyncio.wait_for(ready.wait(), timeout=300)
    result = FanOut(time.perf_counter() - opening, [], [])
    publisher = redis.Redis.from_url(redis_url)
    for round_ in range(rounds):
        received.clear()
        all_received.clear()
        score = 2.0 + round_
        connection = sqlite3.connect(db)
        # What the worker does when it scores a new best: the submission, then the team's best.
        connection.execute(
            "UPDATE submission SET public_score = ? WHERE id = (SELECT min(id) FROM submission WHERE team_id = 1)",
            (score,),
        )
        connection.execute(
            "UPDATE teambest SET public_score = ?, submission_id = (SELECT min(id) FROM submission WHERE team_id = 1) "
            "WHERE team_id = 1",
            (score,),
        )
        connection.commit()
        connection.close()
        published = time.perf_counter()
        publisher.publish(board_channel(SLUG), board_message(SLUG, 1))
        await asyncio.wait_for(all_received.wait(), timeout=120)
        result.first_ms.append((min(received) - published) * 1000)
        result.last_ms.append((max(received) - published) * 1000)
        await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="scores published to the open streams")
    parser.add_argument("--limit", type=int, default=50, help="entries per page / per streamed board")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="riality-bench-") as tmp:
        root = Path(tmp)
        redis_process, redis_url = start_redis(root, persistent=False)
        settings = Settings(data_dir=root / "data", redis_url=redis_url, port=free_port())
        env = {**os.environ, **settings.to_env()}
        cli = [sys.executable, "-m", "server.cli"]
        subprocess.run([*cli, "challenge", "load", str(BUNDLE)], env=env, check=True, capture_output=True)
        db = settings.data_dir / "riality.db"
        generated = populate(db, args.teams, args.submissions)
        api = subprocess.Popen([*cli, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(settings.port, timeout=60, process=api)
            base = f"http://127.0.0.1:{settings.port}"
            page = f"{base}/api/challenges/{SLUG}/leaderboard?limit={args.limit}"
            start = time.perf_counter()
            first = httpx.get(page, timeout=600)
            cold = time.perf_counter() - start
            assert first.status_code == 200, first.text
            rate, p50, p99 = wrk(page, args.seconds, args.connections)
            fan = asyncio.run(fan_out(base, redis_url, db, args.streams, args.limit, args.rounds))
        finally:
            stop_processes([api])
            stop_processes([redis_process])
    print(
        f"riality boards benchmark: {args.teams:,} teams, {args.submissions:,} submissions (generated in {generated:.1f} s), SQLite, 1 API process"
    )
    print(f"  cold board build (first read in a fresh API process): {cold * 1000:.0f} ms")
    print(
        f"  cached reads of the top {args.limit}: {rate:,.0f} req/s, p50 {p50}, p99 {p99}  (goal >= 2,000 req/s, p99 <= 20 ms; wrk, {args.connections} connections)"
    )
    print(
        f"  fan-out: {args.streams} streams (top {args.limit}) opened in {fan.opened_in:.1f} s; "
        f"publish -> every stream has the new board, median of {args.rounds}: {median(fan.last_ms):.0f} ms "
        f"(first stream {median(fan.first_ms):.0f} ms; each round: {', '.join(f'{v:.0f}' for v in fan.last_ms)})  "
        "(goal <= 250 ms)"
    )


if __name__ == "__main__":
    main()
