"""Benchmark: what an uploaded bundle costs the API while it is checked.

Starts a private Redis and one `riality api` process (SQLite, the tumour example loaded), then uploads
bundles with `POST /api/challenges` as an organiser while another client reads
`GET /api/challenges/tumour-detection` every 100 ms, and prints for each bundle:
  - the answer and how long it took,
  - the API process's peak resident memory (sampled every 20 ms) above its level before,
  - the other request's latency meanwhile (median and worst).
Bundles: `hostile`, 150 MB of labels (11.5 M rows) that match no features, zipped to about 24 MB (refused);
`million`, a legitimate test set of 1,000,000 rows (loaded).

    .venv/bin/python bench/bundles.py                       # this checkout
    .venv/bin/python bench/bundles.py --checkout /tmp/base  # another one (a git worktree), same venv
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.processes import free_port, start_redis, stop_processes, wait_for_port  # noqa: E402
from tests.integration.test_model_and_code import zip_bytes  # noqa: E402

SLUG = "tumour-detection"
PASSWORD = "correct-horse-battery"


def _manifest(slug: str) -> dict[str, object]:
    return {
        "slug": slug,
        "title": f"Benchmark {slug}",
        "kinds": ["predictions"],
        "metric": "roc_auc",
        "id_column": "id",
        "target_column": "label",
        "public_fraction": 0.3,
        "schedule": {"opens": "2026-01-01T00:00:00Z", "closes": "2030-12-31T18:00:00Z"},
        "data": {
            "train": "data/train.csv",
            "test_features": "data/test.csv",
            "test_labels": "hidden/labels.csv",
        },
    }


def hostile() -> bytes:
    """A small challenge whose labels file is 150 MB of ids no features row has."""
    rng = np.random.default_rng(1)
    rows = 11_500_000  # about 150 MB of CSV
    labels = pd.DataFrame(
        {"id": np.char.add("x-", np.arange(rows).astype(str)), "label": rng.integers(0, 2, rows)}
    )
    features = pd.DataFrame({"id": ["a", "b"], "f": [0.1, 0.2]})
    train = pd.DataFrame({"f": [0.1, 0.2], "label": [0, 1]})
    return zip_bytes(
        {
            "challenge.yaml": yaml.safe_dump(_manifest("hostile-labels")).encode(),
            "data/train.csv": train.to_csv(index=False).encode(),
            "data/test.csv": features.to_csv(index=False).encode(),
            "hidden/labels.csv": labels.to_csv(index=False).encode(),
        }
    )


def million() -> bytes:
    """A legitimate challenge: a test set of a million rows with five features."""
    rng = np.random.default_rng(2)
    rows = 1_000_000
    ids = np.char.add("r", np.arange(rows).astype(str))
    features = pd.DataFrame({"id": ids, **{f"f{i}": rng.normal(size=rows).round(4) for i in range(5)}})
    labels = pd.DataFrame({"id": ids, "label": rng.integers(0, 2, rows)})
    train = features.head(10_000).drop(columns="id").assign(label=labels["label"].head(10_000))
    return zip_bytes(
        {
            "challenge.yaml": yaml.safe_dump(_manifest("million-rows")).encode(),
            "data/train.csv": train.to_csv(index=False).encode(),
            "data/test.csv": features.to_csv(index=False).encode(),
            "hidden/labels.csv": labels.to_csv(index=False).encode(),
        }
    )


class Sampler(threading.Thread):
    """The API process's resident memory every 20 ms, and another request's latency every 100 ms."""

    def __init__(self, pid: int, url: str) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.url = url
        self.stop = threading.Event()
        self.peak = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        with httpx.Client(timeout=300) as client:
            next_request = 0.0
            while not self.stop.is_set():
                self.peak = max(self.peak, self.process.memory_info().rss)
                if time.monotonic() >= next_request:
                    started = time.monotonic()
                    client.get(f"{self.url}/api/challenges/{SLUG}").raise_for_status()
                    self.latencies.append(time.monotonic() - started)
                    next_request = time.monotonic() + 0.1
                time.sleep(0.02)


def measure(url: str, pid: int, headers: dict[str, str], name: str, data: bytes) -> None:
    base = psutil.Process(pid).memory_info().rss
    sampler = Sampler(pid, url)
    sampler.start()
    started = time.monotonic()
    response = httpx.post(
        f"{url}/api/challenges",
        files={"bundle": ("b.zip", data, "application/zip")},
        headers=headers,
        timeout=900,
    )
    took = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    latencies = sampler.latencies or [float("nan")]
    print(
        f"| {name} | {len(data) / 2**20:.1f} MB | {response.status_code} | {took:.1f} s | "
        f"{(sampler.peak - base) / 2**20:+.0f} MB | {statistics.median(latencies) * 1000:.0f} / "
        f"{max(latencies) * 1000:.0f} ms ({len(latencies)} reads) |"
    )
    if response.status_code >= 400:
        print(f"|   | {response.json()['detail'][:160]} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the code to measure (default: this one)")
    parser.add_argument(
        "--bundles", nargs="+", default=["hostile", "million"], choices=["hostile", "million"]
    )
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    made = {"hostile": hostile, "million": million}
    bundles = {name: made[name]() for name in args.bundles}
    with tempfile.TemporaryDirectory(prefix="riality-bench-bundles-") as folder:
        redis_process, redis_url = start_redis(Path(folder) / "redis", persistent=False)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "RIALITY_DATA_DIR": str(Path(folder) / "data"),
            "REDIS_URL": redis_url,
            "RIALITY_PORT": str(port),
        }

        def cli(*arguments: str) -> None:
            subprocess.run(
                [sys.executable, "-m", "server.cli", *arguments],
                env=env,
                cwd=checkout,
                check=True,
                capture_output=True,
            )

        cli("challenge", "load", str(checkout / "challenges" / "examples" / SLUG))
        cli("user", "create", "olga", "--role", "organiser", "--password", PASSWORD)
        log = (Path(folder) / "api.log").open("wb")
        api = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "api"], env=env, cwd=checkout, stdout=log, stderr=log
        )
        try:
            wait_for_port(port, timeout=60, process=api)
            url = f"http://127.0.0.1:{port}"
            token = httpx.post(
                f"{url}/api/auth/token", json={"username": "olga", "password": PASSWORD}
            ).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            httpx.get(f"{url}/api/challenges/{SLUG}").raise_for_status()  # warm
            print(f"checkout: {checkout}")
            print("| bundle | zip | answer | took | API memory, peak | other request p50 / worst |")
            print("|---|---|---|---|---|---|")
            for name, data in bundles.items():
                measure(url, api.pid, headers, name, data)
        finally:
            stop_processes([api, redis_process])
            log.close()
            checks = [
                line
                for line in (Path(folder) / "api.log").read_text().splitlines()
                if "bundle checked" in line
            ]
            for line in checks:
                print("api log:", line.split(" INFO ")[-1])
        shutil.rmtree(Path(folder) / "data", ignore_errors=True)


if __name__ == "__main__":
    main()
