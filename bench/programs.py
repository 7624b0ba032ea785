"""Benchmark: what a scoring program's submission costs, under runc and gVisor (runsc).

On the tumour-segmentation example (a zip of 60 PNG masks), through the runner's own paths: the
scoring program alone (unpack the submission, the reference and the program, run the program's
container, read scores.json and the detailed page), and a code submission through an ingestion
program first (two containers: the team's code, then the scoring program); medians, each one's ratio
to a bare `docker run` of the same runtime (bench/sandbox.py), then the throughput of scoring-program
submissions with 2 containers at once.

    .venv/bin/python bench/programs.py --runs 5 --runtimes runc,runsc
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox import bare

from challenges.bundle import FileRole, load_bundle
from challenges.spec import ChallengeSpec
from runner.images import RUNTIME_IMAGE
from runner.ingestion import run_ingestion
from runner.programs import run_program
from runner.sandbox import Sandbox
from scoring.validate import FileFormat
from tests.integration.test_model_and_code import zip_bytes
from tests.integration.test_scoring_program import THRESHOLD, ingestion_bundle

EXAMPLE = Path(__file__).resolve().parent.parent / "challenges" / "examples" / "tumour-segmentation"
BASELINE = EXAMPLE / "baselines" / "threshold at 150.zip"


def prepared(work: Path) -> tuple[ChallengeSpec, dict[FileRole, Path], Path]:
    """The example with an ingestion program added (as its test has it), its stored folders as files,
    and a code zip that segments by the same threshold as the example's baseline."""
    bundle = load_bundle(ingestion_bundle(work))
    stored = {}
    for file in bundle.files:
        stored[file.role] = work / f"{file.role.value}.zip"
        stored[file.role].write_bytes(file.data)
    code = work / "code.zip"
    code.write_bytes(zip_bytes({"segment.py": THRESHOLD}))
    return bundle.spec, stored, code


def program(
    box: Sandbox, spec: ChallengeSpec, stored: dict[FileRole, Path], work: Path, results: Path | None = None
) -> None:
    """The scoring program on the baseline's masks, or on what an ingestion program wrote."""
    run = run_program(
        box,
        spec=spec,
        submission_file=BASELINE,
        filename=BASELINE.name,
        file_format=FileFormat.ZIP,
        reference_zip=stored[FileRole.REFERENCE],
        program_zip=stored[FileRole.PROGRAM],
        work_root=work,
        results=results,
    )
    assert run.scores is not None, run.refusal


def scored(box: Sandbox, spec: ChallengeSpec, stored: dict[FileRole, Path], work: Path) -> float:
    start = time.perf_counter()
    program(box, spec, stored, work)
    return time.perf_counter() - start


def ingested(
    box: Sandbox, spec: ChallengeSpec, stored: dict[FileRole, Path], code: Path, work: Path
) -> float:
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(dir=work))
    try:
        made = run_ingestion(
            box,
            spec=spec,
            code_zip=code,
            ingestion_zip=stored[FileRole.INGESTION],
            input_data_zip=stored[FileRole.INPUT_DATA],
            work=folder,
            cancel=threading.Event(),
        )
        assert made.results is not None, made.message
        program(box, spec, stored, work, made.results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return time.perf_counter() - start


def measure(runtime: str, runs: int, image: str, work: Path) -> dict[str, list[float]]:
    box = Sandbox(runtime="" if runtime == "runc" else runtime)
    work.mkdir(parents=True)
    spec, stored, code = prepared(work)
    spec = spec.model_copy(update={"runtime_image": image})
    bare(image, runtime), scored(box, spec, stored, work)  # warm the page cache
    times: dict[str, list[float]] = {"bare": [], "program": [], "ingestion": []}
    for _ in range(runs):  # interleaved, so drift hits all alike
        times["bare"].append(bare(image, runtime))
        times["program"].append(scored(box, spec, stored, work))
        times["ingestion"].append(ingested(box, spec, stored, code, work))
    total = runs * 2
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: scored(box, spec, stored, work), range(total)))
    times["throughput"] = [total / (time.perf_counter() - start)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default=RUNTIME_IMAGE)
    parser.add_argument(
        "--runtimes", default="runc,runsc", help="comma-separated, as registered with dockerd"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="riality-bench-programs-"))
    try:
        print(
            f"scoring-program benchmark: {args.runs} runs each, 60 PNG masks, medians in ms (ratio to bare)"
        )
        print(
            f"{'runtime':8} {'bare docker run':>16} {'scoring program':>22} {'ingestion + program':>24} {'2 at once':>12}"
        )
        for runtime in args.runtimes.split(","):
            t = measure(runtime, args.runs, args.image, work / runtime)
            b, p, i = (statistics.median(t[k]) for k in ("bare", "program", "ingestion"))
            print(
                f"{runtime:8} {b * 1000:16.0f} {p * 1000:14.0f} ({p / b:4.2f}x) {i * 1000:16.0f} ({i / b:4.2f}x)"
                f" {t['throughput'][0]:8.2f} /s"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
