"""Benchmark: what password guessing does to everyone else's requests.

Starts a real `riality api` process (a private Redis, SQLite), then measures the latency of other
requests (`GET /api/challenges`, one at a time) three ways: alone; while N parallel clients send
wrong passwords for one account from one address; and while N clients each guess at their own
account from their own address (X-Forwarded-For, which uvicorn trusts from 127.0.0.1): the case
attempt limits cannot stop, where only the bound on concurrent hashing protects the API.

    .venv/bin/python bench/logins.py [--guessers 50] [--seconds 10] [--root DIR]

--root runs the API of another checkout (e.g. a `git worktree` of an older commit).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from server.processes import free_port, start_redis, stop_processes, wait_for_port  # noqa: E402

PASSWORD = "bench-password-1"


async def measure(base: str, stop_at: float) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            response = await http.get("/api/challenges")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.02)
    return latencies


async def guess(base: str, index: int, stop_at: float, spread: bool, codes: collections.Counter[int]) -> None:
    username = f"user{index}" if spread else "victim"
    headers = {"X-Forwarded-For": f"127.1.{index // 250}.{index % 250 + 1}"} if spread else {}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:
        while time.monotonic() < stop_at:
            response = await http.post(
                "/api/auth/token", json={"username": username, "password": "wrong-guess"}
            )
            codes[response.status_code] += 1
            if response.status_code in (429, 503):
                await asyncio.sleep(0.05)  # a polite client; an attacker's loop only makes it cheaper for us


async def scenario(
    base: str, guessers: int, seconds: float, spread: bool | None
) -> tuple[list[float], dict[int, int]]:
    stop_at = time.monotonic() + seconds
    codes: collections.Counter[int] = collections.Counter()
    tasks = [] if spread is None else [guess(base, i, stop_at, spread, codes) for i in range(guessers)]
    results = await asyncio.gather(measure(base, stop_at), *tasks)
    return results[0], dict(codes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guessers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose API is measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="riality-bench-") as tmp:
        redis_process, redis_url = start_redis(Path(tmp), persistent=False)
        settings = Settings(data_dir=Path(tmp) / "data", redis_url=redis_url, port=free_port())
        env = {**os.environ, **settings.to_env()}
        cli = [sys.executable, "-m", "server.cli"]
        subprocess.run([*cli, "migrate"], env=env, cwd=args.root, check=True, capture_output=True)
        subprocess.run(
            [*cli, "user", "create", "victim", "--password", PASSWORD],
            env=env,
            cwd=args.root,
            check=True,
            capture_output=True,
        )
        quiet = {"stderr": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
        api = subprocess.Popen([*cli, "api"], env=env, cwd=args.root, **quiet)  # type: ignore[call-overload]
        try:
            wait_for_port(settings.port, timeout=60, process=api)
            base = f"http://127.0.0.1:{settings.port}"
            print(
                f"riality sign-in benchmark: {args.guessers} guessers, {args.seconds:.0f} s each, API of {args.root}"
            )
            for name, spread in (
                ("alone", None),
                ("one account, one address", False),
                ("own account and address each", True),
            ):
                latencies, codes = asyncio.run(scenario(base, args.guessers, args.seconds, spread))
                ms = sorted(x * 1000 for x in latencies)
                print(
                    f"  {name:30s} other requests: median {statistics.median(ms):6.1f} ms, "
                    f"p95 {ms[int(len(ms) * 0.95)]:6.1f} ms ({len(ms)} requests); guesses answered: {codes or '-'}"
                )
        finally:
            stop_processes([api, redis_process])


if __name__ == "__main__":
    main()
