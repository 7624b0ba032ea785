"""Running a model or code submission in the sandbox to get its predictions file.

The participant's container sees three folders: /data (the test features only, read-only),
/submission (the model file or the unpacked code, read-only) and /output (writable, bounded).
The hidden labels never enter it. What the harness writes to /output is then validated and
scored outside, exactly like an uploaded predictions file.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from challenges.spec import ChallengeSpec, Kind
from core.archive import ArchiveError, extract_archive
from core.models import FailureKind
from runner.sandbox import Limits, Mount, Outcome, RunResult, Sandbox, Usage, readable_tree, run_folder
from scoring.validate import FileFormat

HARNESS = "/opt/riality/harness.py"
PREDICTIONS = "predictions.csv"
_TAIL_LINES = 20

ENTRY_POINT = "predict.py"  # what a code submission's zip must hold at its top level
# The harness's word for "predict() returned the wrong shape or names" (runner/image/harness.py).
INVALID_OUTPUT_EXIT = 3
VERSION_MISMATCH_EXIT = 4  # the model was saved with other library versions than the environment's
MESSAGE_PREFIX = "riality: "  # the harness's lines that say what was expected
_MODEL_SUFFIX = {FileFormat.SKOPS: "skops", FileFormat.ONNX: "onnx"}  # else a pickle: model.joblib


@dataclass(frozen=True, slots=True)
class Execution:
    """What a sandbox run produced: predictions to score, or the participant's failure."""

    predictions: bytes | None
    failure: FailureKind | None
    message: str | None
    logs: str
    usage: Usage | None


def requirements_url(slug: str) -> str:
    """The challenge's environment as a requirements file (server.api.environments serves it)."""
    return f"/api/challenges/{slug}/requirements.txt"


def _tail(logs: str) -> str:
    lines = [line for line in logs.splitlines() if line.strip()]
    return "\n".join(lines[-_TAIL_LINES:])


def failure_of(result: RunResult, spec: ChallengeSpec) -> tuple[FailureKind, str] | None:
    limits = spec.limits
    if result.outcome is Outcome.TIMEOUT:
        return FailureKind.TIMEOUT, f"timeout: stopped after the limit of {limits.time_s} s"
    if result.outcome is Outcome.OUT_OF_MEMORY:
        return FailureKind.OUT_OF_MEMORY, f"out of memory: went over the limit of {limits.memory_mb} MB"
    if result.outcome is Outcome.OUTPUT_TOO_LARGE:
        return FailureKind.INVALID_OUTPUT, "invalid output: wrote more than the output limit to /output"
    named = {
        INVALID_OUTPUT_EXIT: FailureKind.INVALID_OUTPUT,
        VERSION_MISMATCH_EXIT: FailureKind.VERSION_MISMATCH,
    }
    if result.outcome is Outcome.CRASHED and result.exit_code in named:
        said = [line for line in (result.logs or "").splitlines() if line.startswith(MESSAGE_PREFIX)]
        detail = said[-1].removeprefix(MESSAGE_PREFIX) if said else "the harness gave no reason"
        kind = named[result.exit_code]
        if kind is FailureKind.VERSION_MISMATCH:  # where the file the harness names is
            return (
                kind,
                f"{detail} ({requirements_url(spec.slug)}, also saved by `riality download {spec.slug}`)",
            )
        return kind, f"invalid output: {detail}"
    if result.outcome is Outcome.CRASHED:
        tail = _tail(result.logs)
        return FailureKind.CRASHED, f"crashed with exit code {result.exit_code}" + (
            f":\n{tail}" if tail else ""
        )
    return None


def prepare_and_run(
    sandbox: Sandbox,
    *,
    spec: ChallengeSpec,
    kind: Kind,
    classes: tuple[str, ...],
    submission_file: Path,
    features_file: Path,
    work_root: Path,
    predictions_limit: int,
    model_format: FileFormat = FileFormat.PICKLE,
    cancel: threading.Event | None = None,
) -> Execution:
    """Blocking (call it from a thread): set up the folders, run the harness, collect the predictions."""
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
    try:
        data, submission, output = work / "data", work / "submission", work / "output"
        run_folder(data)
        run_folder(submission)
        run_folder(output, writable=True)
        shutil.copyfile(features_file, data / "features.csv")
        if kind is Kind.CODE:
            try:
                extract_archive(submission_file, submission / "code", required=ENTRY_POINT)
            except ArchiveError as exc:
                return Execution(None, FailureKind.REJECTED_ARCHIVE, f"rejected archive: {exc}", "", None)
            readable_tree(submission)
            target = "/submission/code"
        else:
            name = f"model.{_MODEL_SUFFIX.get(model_format, 'joblib')}"
            shutil.copyfile(submission_file, submission / name)
            (submission / name).chmod(0o644)
            target = f"/submission/{name}"
        command = [
            "python3", HARNESS,
            "--kind", kind.value,
            "--submission", target,
            "--features", "/data/features.csv",
            "--output-file", f"/output/{PREDICTIONS}",
            "--id-column", spec.id_column,
            "--target-column", spec.target_column,
            "--output", spec.primary_metric.needs.value,
            "--classes", ",".join(classes),
            "--model-format", model_format.value if kind is Kind.MODEL else "pickle",
        ]  # fmt: skip
        limits = Limits(
            time_s=spec.limits.time_s,
            memory_mb=spec.limits.memory_mb,
            cpus=spec.limits.cpus,
            output_mb=max(1, predictions_limit // 2**20 + 1),
            gpus=spec.limits.gpus,
        )
        result = sandbox.run(
            spec.runtime_image,
            command,
            limits=limits,
            mounts=(
                Mount(data, "/data"),
                Mount(submission, "/submission"),
                Mount(output, "/output", writable=True),
            ),
            output=output,
            labels={"riality.challenge": spec.slug},
            cancel=cancel,
        )
        failure = failure_of(result, spec)
        if failure is not None:
            return Execution(None, failure[0], failure[1], result.logs, result.usage)
        produced = output / PREDICTIONS
        if not produced.is_file() or produced.is_symlink():
            message = f"invalid output: the {kind.value} submission wrote no predictions file"
            return Execution(None, FailureKind.INVALID_OUTPUT, message, result.logs, result.usage)
        with produced.open("rb") as handle:
            predictions = handle.read(predictions_limit + 1)
        return Execution(predictions, None, None, result.logs, result.usage)
    finally:
        shutil.rmtree(work, ignore_errors=True)
