"""Benchmark: sandbox overhead and throughput.

Times a trivial run (`python3 -c "import sklearn, pandas"`) through riality's Sandbox (every limit
on, cgroup sampling, log capture, removal) against a bare `docker run --rm` of the same image, in
one run, and the throughput of trivial runs with 2 containers at once.

    .venv/bin/python bench/sandbox.py --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.images import RUNTIME_IMAGE
from runner.sandbox import Limits, Outcome, Sandbox

CODE = "import sklearn, pandas"


def bare(image: str) -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", image, "python3", "-c", CODE], check=True)
    return time.perf_counter() - start


def sandboxed(box: Sandbox, image: str) -> float:
    start = time.perf_counter()
    result = box.run(image, ["python3", "-c", CODE], limits=Limits(time_s=60, memory_mb=1024, cpus=1))
    if result.outcome is not Outcome.OK:
        raise RuntimeError(f"trivial run ended {result.outcome}: {result.logs}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", default=RUNTIME_IMAGE)
    args = parser.parse_args()
    box = Sandbox()
    bare(args.image), sandboxed(box, args.image)  # warm the page cache for both
    bare_times, box_times = [], []
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        bare_times.append(bare(args.image))
        box_times.append(sandboxed(box, args.image))
    b, s = statistics.median(bare_times), statistics.median(box_times)
    print(f"sandbox benchmark: {args.runs} runs each of python3 -c {CODE!r} in {args.image}")
    print(f"  bare docker run --rm:  median {b * 1000:.0f} ms (min {min(bare_times) * 1000:.0f})")
    print(f"  riality sandbox:       median {s * 1000:.0f} ms (min {min(box_times) * 1000:.0f})")
    print(f"  overhead ratio:        {s / b:.2f}x  (goal <= 1.3x)")
    total = args.runs * 2
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: sandboxed(box, args.image), range(total)))
    elapsed = time.perf_counter() - start
    print(f"  throughput, 2 at once: {total} runs in {elapsed:.1f} s = {total / elapsed:.2f} runs/s")


if __name__ == "__main__":
    main()
