"""Running a code submission with the organiser's ingestion program (Codabench's layout), in the team's sandbox.

The container sees the team's code at /app/ingested_program, the ingestion program at /app/program
and the test inputs at /app/input_data, all read-only, and never the reference; what it writes to
/app/output is then scored by the challenge's scoring program as if the team had uploaded it. Its
failures (a crash, a timeout, running out of memory) are the team's, as for any code submission.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from challenges.spec import INGESTION_PATHS, ChallengeSpec
from core.archive import ArchiveError, extract_archive
from core.models import FailureKind
from runner.execution import failure_of
from runner.programs import FOLDER_LIMITS, command_with
from runner.sandbox import Limits, Mount, Sandbox, Usage, readable_tree, run_folder


@dataclass(frozen=True, slots=True)
class Ingested:
    """The folder the ingestion program wrote (under the caller's work folder), or the team's failure."""

    results: Path | None
    failure: FailureKind | None = None
    message: str | None = None
    logs: str = ""
    usage: Usage | None = None


def run_ingestion(
    sandbox: Sandbox,
    *,
    spec: ChallengeSpec,
    code_zip: Path,
    ingestion_zip: Path,
    input_data_zip: Path | None,
    work: Path,
    cancel: threading.Event | None = None,
) -> Ingested:
    """Blocking (call it from a thread). `work`: an empty folder the caller removes afterwards."""
    assert spec.program is not None and spec.program.ingestion is not None
    code, program, input_data = work / "code", work / "ingestion", run_folder(work / "input_data")
    try:
        extract_archive(code_zip, code)
    except ArchiveError as exc:
        return Ingested(None, FailureKind.REJECTED_ARCHIVE, f"rejected archive: {exc}")
    extract_archive(ingestion_zip, program, FOLDER_LIMITS)
    if input_data_zip is not None:
        extract_archive(input_data_zip, input_data, FOLDER_LIMITS)
    for folder in (code, program, input_data):
        readable_tree(folder)
    output = run_folder(work / "results", writable=True)
    limits = spec.limits
    result = sandbox.run(
        spec.runtime_image,
        command_with(spec.program.ingestion.command, INGESTION_PATHS),
        limits=Limits(
            time_s=limits.time_s,
            memory_mb=limits.memory_mb,
            cpus=limits.cpus,
            output_mb=max(1, limits.upload_bytes // 2**20 + 1),
            gpus=limits.gpus,
        ),
        mounts=(
            Mount(code, "/app/ingested_program"),
            Mount(program, "/app/program"),
            Mount(input_data, "/app/input_data"),
            Mount(output, "/app/output", writable=True),
        ),
        output=output,
        labels={"riality.challenge": spec.slug, "riality.role": "ingestion"},
        cancel=cancel,
    )
    failure = failure_of(result, spec)
    if failure is not None:
        return Ingested(None, failure[0], failure[1], result.logs, result.usage)
    # A link written by the team's code could point the scoring program at its reference.
    odd = [p for p in output.rglob("*") if p.is_symlink() or not (p.is_file() or p.is_dir())]
    if odd:
        message = f"invalid output: {odd[0].relative_to(output)} is not a regular file or folder"
        return Ingested(None, FailureKind.INVALID_OUTPUT, message, result.logs, result.usage)
    if not any(path.is_file() for path in output.rglob("*")):
        message = "invalid output: the ingestion program wrote nothing to /app/output"
        return Ingested(None, FailureKind.INVALID_OUTPUT, message, result.logs, result.usage)
    return Ingested(output, logs=result.logs, usage=result.usage)
