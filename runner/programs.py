"""Scoring a submission of any shape with the organiser's scoring program, in its own container.

The program sees Codabench's layout, read-only: /app/input/res (the submission: the file, or the
zip unpacked), /app/input/ref (the hidden reference) and /app/program (itself); it writes
/app/output/scores.json (each board column's key → a number; or {"public": {...}, "private": {...}}
for the two boards) and may write detailed_results.html, shown to the team in a sandboxed frame.
A submission the program refuses is the team's: it writes invalid.txt saying why. Any other failure
is the program's, the organisers' to fix, and costs the team nothing.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from challenges.folders import MAX_ENTRIES
from challenges.spec import PROGRAM_PATHS, ChallengeSpec
from core.archive import ArchiveError, ArchiveLimits, extract_archive
from runner.custom_scoring import ScorerError
from runner.sandbox import Limits, Mount, Outcome, Sandbox, readable_tree, run_folder
from scoring.truth import Scores
from scoring.validate import FileFormat

SCORES_JSON = "scores.json"
SCORES_TXT = "scores.txt"  # CodaLab's `key: value` lines
DETAILS = "detailed_results.html"
REFUSAL = "invalid.txt"  # the program's word for "this submission is not valid", for the team
MAX_DETAILS_BYTES = 2 * 2**20
MAX_REFUSAL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class ProgramRun:
    """Scores, or the program's refusal of the submission (for the team); and its detailed results page."""

    scores: Scores | None
    refusal: str | None = None
    details: bytes | None = None
    archive_refused: bool = False  # the submission's zip could not be unpacked safely


def command_with(command: str, paths: dict[str, str]) -> list[str]:
    """A program's command line as words, each $name of `paths` replaced by its container path."""
    words = shlex.split(command)
    for token, path in sorted(paths.items(), key=lambda item: -len(item[0])):  # $input_data before $input
        words = [word.replace(token, path) for word in words]
    return words


def command_of(spec: ChallengeSpec) -> list[str]:
    """The scoring program's command, with $program, $input, $output, $ref and $res as the container's paths."""
    assert spec.program is not None
    return command_with(spec.program.command, PROGRAM_PATHS)


def _numbers(document: object, spec: ChallengeSpec, where: str) -> dict[str, float]:
    assert spec.program is not None
    if not isinstance(document, dict):
        raise ScorerError(f"{where}: expected an object of board columns to numbers")
    values: dict[str, float] = {}
    for column in spec.program.columns:
        value = document.get(column.key)
        if value is None and column.key in document:
            values[column.key] = math.nan  # undefined, said so: shown as such
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScorerError(f"{where}: column {column.key!r} is {value!r}; expected a number")
        try:
            values[column.key] = float(value)
        except OverflowError:  # an integer past any float: the program's error, not ours to retry
            digits = len(str(abs(value)))
            raise ScorerError(
                f"{where}: column {column.key!r} is a number of {digits} digits; too large"
            ) from None
    return values


def parse_scores(raw: bytes, spec: ChallengeSpec, name: str = SCORES_JSON) -> Scores:
    """The program's scores: one object for both boards, or one per board under public and private."""
    try:
        if name == SCORES_TXT:  # CodaLab: "key: value" per line
            pairs = (line.split(":", 1) for line in raw.decode("utf-8").splitlines() if ":" in line)
            document: object = {k.strip(): float(v) for k, v in pairs}
        else:
            document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScorerError(f"{name} is not readable: {exc}") from None
    if isinstance(document, dict) and isinstance(document.get("public"), dict):
        public = _numbers(document["public"], spec, f"{name} public")
        private = _numbers(document.get("private"), spec, f"{name} private")
    else:
        public = private = _numbers(document, spec, name)
    primary = spec.primary_metric
    return Scores(
        metric=spec.metric, public=public, private=dict(private), higher_is_better=primary.higher_is_better
    )


def _read_small(path: Path, limit: int) -> bytes | None:
    if not path.is_file() or path.is_symlink():
        return None
    with path.open("rb") as handle:
        return handle.read(limit + 1)


# A stored folder was packed by challenges.folders from the organiser's bundle: only sizes to bound.
FOLDER_LIMITS = ArchiveLimits(
    max_entries=MAX_ENTRIES, max_total_bytes=2**31, max_entry_bytes=2**30, max_ratio=1e6
)


def _place_submission(submission_file: Path, filename: str, file_format: FileFormat, res: Path) -> None:
    if file_format is FileFormat.ZIP:
        extract_archive(submission_file, res)
    else:
        name = filename if filename not in ("", ".", "..") and "/" not in filename else "submission"
        shutil.copyfile(submission_file, res / name)


def run_program(
    sandbox: Sandbox,
    *,
    spec: ChallengeSpec,
    submission_file: Path,
    filename: str,
    file_format: FileFormat,
    reference_zip: Path,
    program_zip: Path,
    work_root: Path,
    cancel: threading.Event | None = None,
    results: Path | None = None,
) -> ProgramRun:
    """Blocking (call it from a thread). Raises ScorerError when the program fails or writes no scores.
    `results`: what an ingestion program wrote, read as the submission instead of the uploaded file."""
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="program-", dir=work_root))
    try:
        inputs, program, output = work / "input", work / "program", work / "output"
        run_folder(inputs)
        try:
            if results is not None:
                shutil.copytree(results, inputs / "res")  # regular files only (runner.ingestion)
            else:
                _place_submission(submission_file, filename, file_format, run_folder(inputs / "res"))
        except ArchiveError as exc:
            return ProgramRun(None, refusal=f"rejected archive: {exc}", archive_refused=True)
        extract_archive(reference_zip, inputs / "ref", FOLDER_LIMITS)
        extract_archive(program_zip, program, FOLDER_LIMITS)
        readable_tree(inputs)
        readable_tree(program)
        run_folder(output, writable=True)
        result = sandbox.run(
            spec.runtime_image,
            command_of(spec),
            limits=Limits(
                time_s=spec.limits.time_s,
                memory_mb=spec.limits.memory_mb,
                cpus=spec.limits.cpus,
                output_mb=max(4, MAX_DETAILS_BYTES // 2**20 * 2),
            ),
            mounts=(
                Mount(inputs, "/app/input"),
                Mount(program, "/app/program"),
                Mount(output, "/app/output", writable=True),
            ),
            output=output,
            labels={"riality.challenge": spec.slug, "riality.role": "scorer"},
            cancel=cancel,
        )
        refusal = _read_small(output / REFUSAL, MAX_REFUSAL_CHARS)
        if refusal is not None:
            message = refusal.decode("utf-8", "replace").strip()[:MAX_REFUSAL_CHARS]
            return ProgramRun(None, refusal=message or "refused by the challenge's scoring program")
        if result.outcome is not Outcome.OK:
            raise ScorerError(
                f"the challenge's scoring program ended: {result.outcome.value} (exit {result.exit_code})",
                result.logs,
            )
        for name in (SCORES_JSON, SCORES_TXT):
            raw = _read_small(output / name, 2**20)
            if raw is not None:
                try:
                    scores = parse_scores(raw, spec, name)
                except ScorerError as exc:  # with what the program printed, for the staff
                    raise ScorerError(str(exc), result.logs) from None
                break
        else:
            raise ScorerError(f"the challenge's scoring program wrote no {SCORES_JSON}", result.logs)
        details = _read_small(output / DETAILS, MAX_DETAILS_BYTES)
        if details is not None and len(details) > MAX_DETAILS_BYTES:
            details = None  # too large to show: the scores stand
        return ProgramRun(scores, details=details)
    finally:
        shutil.rmtree(work, ignore_errors=True)
