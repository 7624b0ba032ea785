"""Benchmark: sandbox overhead and throughput, under Docker's default runtime (runc) and gVisor (runsc).

For each runtime, in one run: a bare `docker run --rm --runtime R` of the runtime image doing
`python3 -c "import sklearn, pandas"`; a trivial code submission (predict.py returning 0.5) and a
model submission (a fitted scikit-learn pipeline, .joblib) through the runner's own path (unpack, set
up the folders, run the harness in the sandbox with every limit on, sample the cgroup, capture logs,
remove the container, read the predictions); medians, and each one's ratio to the bare run of the
same runtime; then the throughput of trivial code submissions with 2 containers at once.

    .venv/bin/python bench/sandbox.py --runs 10 --runtimes runc,runsc
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenges.bundle import FileRole, load_bundle
from challenges.spec import ChallengeSpec, Kind
from runner.execution import prepare_and_run
from runner.images import RUNTIME_IMAGE
from runner.sandbox import Sandbox

EXAMPLE = Path(__file__).resolve().parent.parent / "challenges" / "examples" / "tumour-detection"

CODE = "import sklearn, pandas"


def bare(image: str, runtime: str) -> float:
    start = time.perf_counter()
    command = [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--runtime",
        runtime,
        image,
        "python3",
        "-c",
        CODE,
    ]
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def submission_files(folder: Path) -> tuple[Path, Path, Path, ChallengeSpec]:
    """A trivial code submission, a fitted model, the test features and the spec (a 60 s limit)."""
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "code.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("predict.py", "def predict(features):\n    return [0.5] * len(features)\n")
    bundle = load_bundle(EXAMPLE)
    train = pd.read_csv(io.BytesIO(next(f.data for f in bundle.files if f.role is FileRole.TRAIN)))
    x, y = (
        train.drop(columns=[bundle.spec.id_column, bundle.spec.target_column]),
        train[bundle.spec.target_column],
    )
    model = folder / "model.joblib"
    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y), model)
    features = folder / "test.csv"
    features.write_bytes(next(f.data for f in bundle.files if f.role is FileRole.TEST_FEATURES))
    spec = bundle.spec.model_copy(update={"limits": bundle.spec.limits.model_copy(update={"time_s": 60})})
    return code, model, features, spec


def sandboxed(box: Sandbox, folder: Path, kind: Kind, files: tuple[Path, Path, Path, ChallengeSpec]) -> float:
    code, model, features, spec = files
    start = time.perf_counter()
    run = prepare_and_run(
        box,
        spec=spec,
        kind=kind,
        classes=("0", "1"),
        submission_file=code if kind is Kind.CODE else model,
        features_file=features,
        work_root=folder / "runs",
        predictions_limit=2**24,
    )
    if run.predictions is None:
        raise RuntimeError(f"{kind.value} submission failed: {run.message}\n{run.logs}")
    return time.perf_counter() - start


def measure(runtime: str, runs: int, image: str, work: Path) -> dict[str, list[float]]:
    box = Sandbox(runtime="" if runtime == "runc" else runtime)
    files = submission_files(work)
    bare(image, runtime), sandboxed(box, work, Kind.CODE, files)  # warm the page cache for both
    times: dict[str, list[float]] = {"bare": [], "code": [], "model": []}
    for _ in range(runs):  # interleaved, so drift hits all alike
        times["bare"].append(bare(image, runtime))
        times["code"].append(sandboxed(box, work, Kind.CODE, files))
        times["model"].append(sandboxed(box, work, Kind.MODEL, files))
    total = runs * 2
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda i: sandboxed(box, work / f"t{i}", Kind.CODE, files), range(total)))
    times["throughput"] = [total / (time.perf_counter() - start)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", default=RUNTIME_IMAGE)
    parser.add_argument(
        "--runtimes", default="runc,runsc", help="comma-separated, as registered with dockerd"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="riality-bench-"))
    print(f"sandbox benchmark: {args.runs} runs each, image {args.image}, medians in ms (ratio to bare)")
    print(
        f"{'runtime':8} {'bare docker run':>16} {'code submission':>22} {'model submission':>22} {'2 at once':>12}"
    )
    for runtime in args.runtimes.split(","):
        t = measure(runtime, args.runs, args.image, work / runtime)
        b, c, m = (statistics.median(t[k]) for k in ("bare", "code", "model"))
        print(
            f"{runtime:8} {b * 1000:16.0f} {c * 1000:14.0f} ({c / b:4.2f}x) {m * 1000:14.0f} ({m / b:4.2f}x)"
            f" {t['throughput'][0]:8.2f} /s"
        )


if __name__ == "__main__":
    main()
