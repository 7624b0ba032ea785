"""Benchmark: sandbox overhead and throughput.

Times a trivial code submission (predict.py returning zeros) through the runner's own path
(unpack the zip, set up the folders, run the harness in the sandbox with every limit on, sample
the cgroup, capture logs, remove the container, read the predictions) against a bare
`docker run --rm` of the same image doing `python3 -c "import sklearn, pandas"`, in one run,
and the throughput of trivial code submissions with 2 containers at once.

    .venv/bin/python bench/sandbox.py --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from challenges.bundle import FileRole, load_bundle
from challenges.spec import ChallengeSpec, Kind
from runner.execution import prepare_and_run
from runner.images import RUNTIME_IMAGE
from runner.sandbox import Limits, Outcome, Sandbox

EXAMPLE = Path(__file__).resolve().parent.parent / "challenges" / "examples" / "tumour-detection"

CODE = "import sklearn, pandas"


def bare(image: str) -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", image, "python3", "-c", CODE], check=True)
    return time.perf_counter() - start


def same_command(box: Sandbox, image: str) -> float:
    """The bare command itself through the Sandbox: the like-for-like cost of the locked-down run."""
    start = time.perf_counter()
    result = box.run(image, ["python3", "-c", CODE], limits=Limits(time_s=60, memory_mb=1024))
    if result.outcome is not Outcome.OK:
        raise RuntimeError(f"{result.outcome}: {result.logs}")
    return time.perf_counter() - start


def trivial_submission(folder: Path) -> tuple[Path, Path, ChallengeSpec]:
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "code.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("predict.py", "def predict(features):\n    return [0.5] * len(features)\n")
    bundle = load_bundle(EXAMPLE)
    features = folder / "test.csv"
    features.write_bytes(next(f.data for f in bundle.files if f.role is FileRole.TEST_FEATURES))
    spec = bundle.spec.model_copy(update={"limits": bundle.spec.limits.model_copy(update={"time_s": 60})})
    return code, features, spec


def sandboxed(box: Sandbox, folder: Path) -> float:
    code, features, spec = trivial_submission(folder)
    start = time.perf_counter()
    run = prepare_and_run(
        box,
        spec=spec,
        kind=Kind.CODE,
        classes=("0", "1"),
        submission_file=code,
        features_file=features,
        work_root=folder / "runs",
        predictions_limit=2**24,
    )
    if run.predictions is None:
        raise RuntimeError(f"trivial code submission failed: {run.message}\n{run.logs}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", default=RUNTIME_IMAGE)
    args = parser.parse_args()
    box = Sandbox()
    work = Path(tempfile.mkdtemp(prefix="riality-bench-"))
    bare(args.image), sandboxed(box, work)  # warm the page cache for both
    bare_times, box_times, same_times = [], [], []
    for _ in range(args.runs):  # interleaved, so drift hits all alike
        bare_times.append(bare(args.image))
        box_times.append(sandboxed(box, work))
        same_times.append(same_command(box, args.image))
    b, s = statistics.median(bare_times), statistics.median(box_times)
    print(f"sandbox benchmark: {args.runs} runs each, image {args.image}")
    print(
        f"  bare docker run --rm python3 -c {CODE!r}: median {b * 1000:.0f} ms (min {min(bare_times) * 1000:.0f})"
    )
    print(
        f"  trivial code submission through the runner:  median {s * 1000:.0f} ms (min {min(box_times) * 1000:.0f})"
    )
    print(f"  overhead ratio:        {s / b:.2f}x  (goal <= 1.3x)")
    same = statistics.median(same_times)
    print(f"  same command through the Sandbox: median {same * 1000:.0f} ms, {same / b:.2f}x the bare run")
    total = args.runs * 2
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda i: sandboxed(box, work / f"t{i}"), range(total)))
    elapsed = time.perf_counter() - start
    print(f"  throughput, 2 at once: {total} runs in {elapsed:.1f} s = {total / elapsed:.2f} runs/s")


if __name__ == "__main__":
    main()
