"""Benchmark: what an organiser does to a busy challenge. A whole-challenge rescore (how long, and how
many "board changed" messages the API processes hear while it runs: the goal is one), the CSV
exports, and the staff's submission list.

Starts a real deployment (a private Redis, SQLite or the database you name, the API and N arq
workers, each its own process), loads a generated challenge with a 10k-row hidden test set, has
`--teams` teams upload `--each` prediction files each, then measures.

    .venv/bin/python bench/staff_ops.py --teams 100 --each 5 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.submissions import PASSWORD, SLUG, make_bundle  # noqa: E402
from core.queue import board_channel  # noqa: E402
from core.settings import Settings  # noqa: E402
from server.processes import free_port, start_redis, stop_processes, wait_for_port  # noqa: E402


async def sign_in(http: httpx.AsyncClient, name: str, *, register: bool = True) -> dict[str, str]:
    """Register and sign in, waiting when the bounded password hasher says it is busy (503)."""
    credentials = {"username": name, "password": PASSWORD}
    steps = (["/api/auth/register"] if register else []) + ["/api/auth/token"]
    for path in steps:
        for _ in range(600):
            response = await http.post(path, json=credentials)
            if response.status_code != 503:
                break
            await asyncio.sleep(0.2)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def fill(base: str, teams: int, each: int, payloads: list[bytes]) -> int:
    """Every team uploads its files; returns when all are scored."""

    async def team(index: int) -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            headers = await sign_in(http, f"team{index:04d}")
            ids = []
            for n in range(each):
                body = payloads[(index + n) % len(payloads)]
                sent = await http.post(
                    f"/api/challenges/{SLUG}/submissions", files={"file": ("p.csv", body)}, headers=headers
                )
                if sent.status_code != 202:
                    raise RuntimeError(f"upload refused: {sent.status_code} {sent.text}")
                ids.append(sent.json()["id"])
            return ids

    groups = await asyncio.gather(*(team(i) for i in range(teams)))
    return sum(len(g) for g in groups)


async def wait_scored(base: str, headers: dict[str, str], total: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        while True:
            rows = (
                await http.get(
                    f"/api/challenges/{SLUG}/submissions?status=scored&limit=500&offset={total - 1}",
                    headers=headers,
                )
            ).json()
            if rows:
                return
            await asyncio.sleep(0.5)


async def measure(base: str, redis_url: str, organiser: dict[str, str], total: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        # The staff's submission list: the newest page, filtered by status.
        latencies = []
        for _ in range(30):
            start = time.perf_counter()
            response = await http.get(
                f"/api/challenges/{SLUG}/submissions?status=scored&limit=100", headers=organiser
            )
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200
        print(
            f"  staff list, 100 newest of {total}:  p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        for name in ("submissions.csv", "leaderboard.csv?board=private"):
            start = time.perf_counter()
            response = await http.get(f"/api/challenges/{SLUG}/export/{name}", headers=organiser)
            took = time.perf_counter() - start
            rows = response.content.count(b"\n") - 1
            print(f"  export {name:30s} {took * 1000:6.0f} ms, {len(response.content):,} bytes, {rows} rows")

        client = aioredis.from_url(redis_url)
        pubsub = client.pubsub()
        await pubsub.subscribe(board_channel(SLUG))
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        heard = 0
        start = time.perf_counter()
        started = await http.post(f"/api/challenges/{SLUG}/rescore", headers=organiser)
        accepted = time.perf_counter() - start
        rescore_id = started.json()["id"]
        done_at = None
        while done_at is None:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is not None:
                heard += 1
            progress = (await http.get(f"/api/challenges/{SLUG}/rescore", headers=organiser)).json()[0]
            if progress["id"] == rescore_id and progress["finished_at"]:
                done_at = time.perf_counter()
        await asyncio.sleep(1)
        while (message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)) is not None:
            heard += 1
        await client.aclose()
        took = done_at - start
        print(
            f"  rescore of {progress['total']} submissions: accepted in {accepted * 1000:.0f} ms, finished in {took:.1f} s = {progress['total'] / took:.1f} /s"
        )
        print(
            f"  board-changed messages heard during the rescore: {heard} (goal 1), no longer valid: {progress['failed']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--each", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="riality-bench-") as tmp:
        root = Path(tmp)
        features = make_bundle(root / "bundle", args.rows)
        rng = np.random.default_rng(5)
        payloads = [
            pd.DataFrame({"id": features["id"], "label": rng.random(args.rows).round(6)})
            .to_csv(index=False)
            .encode()
            for _ in range(8)
        ]
        redis_process, redis_url = start_redis(root, persistent=False)
        settings = Settings(
            data_dir=root / "data",
            database_url=args.database_url,
            redis_url=redis_url,
            port=free_port(),
            registrations_per_address=1_000_000,
        )
        env = {**os.environ, **settings.to_env()}
        cli = [sys.executable, "-m", "server.cli"]
        for command in (
            ["challenge", "load", str(root / "bundle")],
            ["user", "create", "olga", "--role", "organiser", "--password", PASSWORD],
            ["staff", "add", SLUG, "olga", "--role", "organiser"],
        ):
            subprocess.run([*cli, *command], env=env, check=True, capture_output=True)
        quiet = {"stderr": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
        children = [subprocess.Popen([*cli, "api"], env=env, **quiet)]  # type: ignore[call-overload]
        children += [subprocess.Popen([*cli, "worker"], env=env, **quiet) for _ in range(args.workers)]  # type: ignore[call-overload]
        try:
            wait_for_port(settings.port, timeout=60, process=children[0])
            time.sleep(1.5)
            base = f"http://127.0.0.1:{settings.port}"

            async def run() -> None:
                start = time.perf_counter()
                total = await fill(base, args.teams, args.each, payloads)
                async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                    organiser = await sign_in(http, "olga", register=False)
                await wait_scored(base, organiser, total)
                print(
                    f"riality staff operations benchmark: {args.teams} teams x {args.each} files = {total} scored "
                    f"submissions ({time.perf_counter() - start:.0f} s to fill), {args.rows:,}-row test set, "
                    f"{args.workers} worker(s), database {'SQLite' if not args.database_url else args.database_url.split(':')[0]}"
                )
                await measure(base, redis_url, organiser, total)

            asyncio.run(run())
        finally:
            stop_processes(children)
            stop_processes([redis_process])


if __name__ == "__main__":
    main()
