"""Evaluating one submission: claim it, score its predictions against the hidden labels, record the result.

Idempotent under at-least-once delivery: a submission is claimed with a conditional update
(queued, or running but stale), and its result is written only while it is still ours.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from challenges.spec import ONE_PHASE, ChallengeSpec, Kind
from core import logs
from core.blobs import drop_refused_upload
from core.challenges import ChallengeFiles
from core.db import SessionMaker
from core.models import (
    Challenge,
    FailureKind,
    Status,
    Submission,
    utcnow,
)
from core.queue import board_message
from core.scheduling import lane
from core.storage import BlobStore, TooLargeError
from runner.claims import claim, claim_queued_file
from runner.contexts import ChallengeContext, Contexts, load_context
from runner.custom_scoring import ScorerError, score_with_scorer
from runner.environments import EnvironmentNotReady, ensure_image
from runner.execution import prepare_and_run
from runner.fairness import claim_under_cap
from runner.ingestion import Ingested, run_ingestion
from runner.kept import predictions_bytes
from runner.ladder import ladder_step
from runner.programs import ProgramRun, run_program
from runner.reconcile import stale_after as stale_after_for
from runner.results import record_best, write_failure, write_result
from runner.sandbox import Sandbox, SandboxError, Usage
from runner.truths import TruthCache
from scoring.errors import PredictionFileError
from scoring.ranking import Efficiency
from scoring.truth import GroundTruth, Scores, finite_or_none
from scoring.validate import FileFormat, Predictions, read_predictions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    submission_id: int
    challenge: str
    team_id: int  # the team whose board entry may have changed
    status: Status
    kind: str = ""  # for the metrics: the submission's kind, its failure, and upload → result
    failure: str | None = None
    latency_s: float | None = None
    uncertainty: bool = False  # its board has bootstrap intervals to bring up to date


def _validate(spec: ChallengeSpec, truth: GroundTruth, data: bytes, file_format: FileFormat) -> Predictions:
    return read_predictions(data, spec.expectation(truth), file_format)


def _score_file(spec: ChallengeSpec, truth: GroundTruth, data: bytes, file_format: FileFormat) -> Scores:
    """Validate and score with the built-in metrics (the benchmark profiles this)."""
    return spec.score(truth, _validate(spec, truth, data, file_format).values)


StillOurs = Callable[[], Awaitable[bool]]


async def _running(sessions: SessionMaker, submission_id: int) -> bool:
    async with sessions() as session:
        status = (await session.exec(select(Submission.status).where(Submission.id == submission_id))).first()
    return status == Status.RUNNING


@dataclass(slots=True)
class Runtime:
    """What a worker process holds for evaluating: the hidden test sets, and the sandbox if Docker answers."""

    truths: TruthCache
    work_root: Path  # per-run folders for model and code submissions
    sandbox: Sandbox | None = None
    sandbox_reason: str = ""  # why there is no sandbox
    sandbox_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    team_sandbox_runs: int = 0  # a team's model/code runs at once over all workers (0: no cap)
    contexts: Contexts = field(default_factory=Contexts)  # challenges as their prediction files are scored

    @property
    def store(self) -> BlobStore:
        return self.truths.store


@dataclass(frozen=True, slots=True)
class _Produced:
    """Predictions to score, or why there are none, plus what the sandbox run left to record."""

    data: bytes | None
    file_format: FileFormat
    failure: FailureKind | None = None
    message: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


STAFF_LOG_CHARS = 20_000  # the tail of a failed scorer's output kept for the challenge's staff
CANCEL_POLL_S = 0.5  # how often a running sandbox checks whether its submission was cancelled


@asynccontextmanager
async def _kill_on_cancel(cancel: threading.Event, still_ours: StillOurs) -> AsyncIterator[None]:
    """The Docker SDK blocks in a thread that cancellation cannot stop; this tells it to kill the
    container when the job is cancelled, or when the submission stops being ours (staff or its team
    cancelled it: the API marks it so, and the container goes within CANCEL_POLL_S)."""

    async def watch() -> None:
        while not cancel.is_set():
            await asyncio.sleep(CANCEL_POLL_S)
            if not await still_ours():
                cancel.set()

    watcher = asyncio.create_task(watch())
    try:
        yield
    except asyncio.CancelledError:
        cancel.set()
        raise
    finally:
        watcher.cancel()


@dataclass(frozen=True, slots=True)
class Job:
    """What evaluating one submission needs, read once at its start: values, never a live ORM object."""

    submission_id: int
    challenge_id: int
    team_id: int
    slug: str
    spec: ChallengeSpec
    kind: Kind
    file_format: FileFormat
    sha256: str
    created_at: datetime
    files: ChallengeFiles
    phase: str = ONE_PHASE  # spec and files are this phase's
    # The challenge's own environment: its lock once ready (spec.runtime_image is then its image);
    # `environment_ready` is False while it is being built.
    environment_lock: str | None = None
    environment_ready: bool = True
    filename: str = ""  # as uploaded: a scoring program sees a single-file submission under this name


@dataclass(frozen=True, slots=True)
class ScoredSubmission:
    """The team's-best candidate a scored submission makes (runner.results.ScoredEntry)."""

    id: int
    team_id: int
    challenge_id: int
    public_score: float | None
    created_at: datetime
    phase: str


def job_for(
    context: ChallengeContext,
    *,
    submission_id: int,
    team_id: int,
    kind: Kind,
    file_format: FileFormat,
    sha256: str,
    created_at: datetime,
    filename: str,
    phase: str,
) -> Job:
    """A job on one of the challenge's uploads (a team's submission, or a baseline of its bundle), as
    its phase (`context`, from runner.contexts) scores it."""
    return Job(
        submission_id=submission_id,
        challenge_id=context.challenge_id,
        team_id=team_id,
        slug=context.slug,
        spec=context.spec,
        environment_lock=context.environment_lock,
        environment_ready=context.environment_ready,
        kind=kind,
        file_format=file_format,
        sha256=sha256,
        created_at=created_at,
        files=context.files,
        filename=filename,
        phase=phase,
    )


async def load_job(session: AsyncSession, submission_id: int) -> Job | None:
    submission = await session.get(Submission, submission_id)
    if submission is None:
        return None
    return job_for(
        await load_context(session, submission.challenge_id, submission.phase),
        submission_id=submission_id,
        team_id=submission.team_id,
        kind=Kind(submission.kind),
        file_format=FileFormat(submission.file_format),
        sha256=submission.sha256,
        created_at=submission.created_at,
        filename=submission.filename,
        phase=submission.phase,
    )


async def _claim_file(session: AsyncSession, runtime: Runtime, submission_id: int) -> Job | None:
    """The common case in two statements: a queued prediction file claimed with its row read, and its
    challenge's context from this worker's cache (read again when the challenge changed)."""
    claimed = await claim_queued_file(session, submission_id)
    if claimed is None:
        return None
    context = await runtime.contexts.for_prediction_file(
        session, claimed.challenge_id, claimed.phase, claimed.challenge_version
    )
    return job_for(
        context,
        submission_id=submission_id,
        team_id=claimed.team_id,
        kind=Kind.PREDICTIONS,
        file_format=FileFormat(claimed.file_format),
        sha256=claimed.sha256,
        created_at=claimed.created_at,
        filename=claimed.filename,
        phase=claimed.phase,
    )


async def _claim(
    session: AsyncSession, runtime: Runtime, submission_id: int, stale_after: timedelta
) -> Job | None:
    """The submission's job, claimed for this worker; None when there is nothing to do (finished,
    claimed by another worker, or deleted). Any kind, and a stale run taken over, past the common case."""
    if (job := await _claim_file(session, runtime, submission_id)) is not None:
        return job
    job = await load_job(session, submission_id)
    if job is None:
        log.warning("submission %s does not exist (deleted?); nothing to do", submission_id)
        return None
    stale = stale_after_for(job.spec, job.kind, stale_after)
    if job.kind is not Kind.PREDICTIONS and runtime.team_sandbox_runs:
        cap, where = runtime.team_sandbox_runs, lane(job.spec, job.kind)
        claimed = await claim_under_cap(session, submission_id, job.team_id, cap, stale, where)
    else:
        claimed = await claim(session, submission_id, stale)
    if not claimed:
        log.info("submission %s: already finished or claimed, nothing to do", submission_id)
        return None
    return job


async def always_ours() -> bool:
    return True  # a run nobody cancels: a rescore, a baseline


async def _environment_image(sandbox: Sandbox, job: Job) -> None:
    """The challenge's own image is on this host before a container of it starts."""
    if not job.environment_ready:
        raise EnvironmentNotReady(f"the environment of {job.slug!r} is not ready")
    if job.environment_lock is not None:
        await asyncio.to_thread(ensure_image, sandbox, job.spec.runtime_image, job.environment_lock)


async def _produce(runtime: Runtime, job: Job, truth: GroundTruth, still_ours: StillOurs) -> _Produced:
    """The predictions file: the upload itself, or what the participant's code wrote in the sandbox."""
    spec = job.spec
    if job.kind is Kind.PREDICTIONS:
        try:
            data = runtime.store.read_bytes(job.sha256, limit=spec.limits.upload_bytes)
        except TooLargeError as exc:
            return _Produced(None, job.file_format, FailureKind.INVALID_PREDICTIONS, str(exc))
        return _Produced(data, job.file_format)
    if runtime.sandbox is None:
        raise SandboxError("this worker has no Docker daemon; model and code submissions need one")
    await _environment_image(runtime.sandbox, job)
    cancel = threading.Event()
    async with runtime.sandbox_slots, _kill_on_cancel(cancel, still_ours):
        execution = await asyncio.to_thread(
            prepare_and_run,
            runtime.sandbox,
            spec=spec,
            kind=job.kind,
            classes=truth.classes,
            submission_file=runtime.store.path(job.sha256),
            features_file=runtime.store.path(job.files[FileRole.TEST_FEATURES].sha256),
            work_root=runtime.work_root,
            predictions_limit=spec.limits.upload_bytes,
            model_format=job.file_format,
            cancel=cancel,
        )
    record = _run_record(execution.logs, execution.usage)
    return _Produced(execution.predictions, FileFormat.CSV, execution.failure, execution.message, record)


async def _scores(runtime: Runtime, job: Job, truth: GroundTruth, values: Any) -> Scores:
    """The built-in metrics, or the challenge's own scorer in its sandbox (ScorerError if it fails)."""
    spec = job.spec
    if spec.scorer is None:
        return spec.score(truth, values)
    if runtime.sandbox is None:
        raise SandboxError("this worker has no Docker daemon; the challenge's scorer needs one")
    await _environment_image(runtime.sandbox, job)
    labels_csv = runtime.truths.labels_csv(job.files[FileRole.TEST_LABELS].sha256)
    async with runtime.sandbox_slots:
        return await asyncio.to_thread(
            score_with_scorer,
            runtime.sandbox,
            spec=spec,
            truth=truth,
            values=values,
            labels_csv=labels_csv,
            scorer_file=runtime.store.path(job.files[FileRole.SCORER].sha256),
            work_root=runtime.work_root,
        )


@dataclass(frozen=True, slots=True)
class Result:
    """What evaluating a submission found: scores, or the failure and its message; and what the
    sandbox run left to record (logs, usage)."""

    record: dict[str, Any]
    scores: Scores | None = None
    failure: FailureKind | None = None
    message: str = ""
    predictions: np.ndarray | None = None  # validated, for the Ladder's paired test


def _scorer_failed(job: Job, exc: ScorerError, record: dict[str, Any]) -> Result:
    """The organiser's code failed, not the participant's: its logs may show labels, so they go to
    the challenge's staff only (and the worker's log); the team is told, and charged nothing."""
    log.warning(
        "challenge %s: scorer failed on submission %s: %s\n%s", job.slug, job.submission_id, exc, exc.logs
    )
    message = "the challenge's scorer failed on this submission; the organisers can see why and rescore it"
    staff = f"{exc}\n\n{exc.logs}".strip()[-STAFF_LOG_CHARS:]
    return Result(record | {"scorer_logs": staff}, failure=FailureKind.SCORER_FAILED, message=message)


def _run_record(logs: str, usage: Usage | None) -> dict[str, Any]:
    """What a team's sandbox run leaves on its submission: its logs and what it used."""
    record: dict[str, Any] = {"logs": logs or None}
    if usage is not None:
        record |= {"wall_s": usage.wall_s, "cpu_s": usage.cpu_s, "peak_memory_mb": usage.peak_memory_mb}
    return record


def _ingest(runtime: Runtime, job: Job, work: Path, cancel: threading.Event) -> Ingested:
    """Blocking: a code submission run by the challenge's ingestion program (runner.ingestion)."""
    input_data = job.files.get(FileRole.INPUT_DATA)
    return run_ingestion(
        runtime.sandbox,  # type: ignore[arg-type]
        spec=job.spec,
        code_zip=runtime.store.path(job.sha256),
        ingestion_zip=runtime.store.path(job.files[FileRole.INGESTION].sha256),
        input_data_zip=runtime.store.path(input_data.sha256) if input_data else None,
        work=work,
        cancel=cancel,
    )


def _score_by_program(
    runtime: Runtime, job: Job, cancel: threading.Event
) -> tuple[ProgramRun | None, dict[str, Any], Result | None]:
    """Blocking: ingestion first for a code submission (its failure is the team's: a Result), then
    the scoring program on what it wrote, or on the upload itself."""
    runtime.work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=runtime.work_root))
    try:
        results, record = None, {}
        if job.kind is Kind.CODE:
            ingested = _ingest(runtime, job, work, cancel)
            record = _run_record(ingested.logs, ingested.usage)
            if ingested.results is None:
                assert ingested.failure is not None
                return None, record, Result(record, failure=ingested.failure, message=ingested.message or "")
            results = ingested.results
        run = run_program(
            runtime.sandbox,  # type: ignore[arg-type]
            spec=job.spec,
            submission_file=runtime.store.path(job.sha256),
            filename=job.filename,
            file_format=job.file_format,
            reference_zip=runtime.store.path(job.files[FileRole.REFERENCE].sha256),
            program_zip=runtime.store.path(job.files[FileRole.PROGRAM].sha256),
            work_root=runtime.work_root,
            cancel=cancel,
            results=results,
        )
        return run, record, None
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _program_result(runtime: Runtime, job: Job, still_ours: StillOurs) -> Result:
    """A scoring program's challenge: the upload (or what the ingestion program made of the team's
    code) goes to the program as it is (runner.programs)."""
    if runtime.sandbox is None:
        raise SandboxError("this worker has no Docker daemon; the challenge's scoring program needs one")
    await _environment_image(runtime.sandbox, job)
    cancel = threading.Event()
    async with runtime.sandbox_slots, _kill_on_cancel(cancel, still_ours):
        try:
            run, record, failed = await asyncio.to_thread(_score_by_program, runtime, job, cancel)
        except ScorerError as exc:
            return _scorer_failed(job, exc, {})
    if failed is not None:
        return failed
    assert run is not None
    if run.scores is None:
        failure = FailureKind.REJECTED_ARCHIVE if run.archive_refused else FailureKind.INVALID_PREDICTIONS
        return Result(record, failure=failure, message=run.refusal or "refused by the scoring program")
    record |= {"scorer_logs": None, "details_sha256": None}
    if run.details is not None:
        record["details_sha256"] = runtime.store.put_bytes(run.details)
    return Result(record, scores=run.scores)


async def compute(runtime: Runtime, job: Job, still_ours: StillOurs) -> Result:
    """Produce predictions → validate → score. The participant's and the scorer's failures are
    results; ours (database, files, Docker) raise."""
    if job.spec.program is not None:
        return await _program_result(runtime, job, still_ours)
    # Scoring runs on the worker's own thread: it is CPU-bound, and handing it to a thread pool only
    # adds GIL hand-offs (measured: more futex time, lower throughput). Parallelism comes from processes.
    truth = runtime.truths.get(job.spec, job.files[FileRole.TEST_LABELS].sha256)
    produced = await _produce(runtime, job, truth, still_ours)
    if produced.failure is not None or produced.data is None:
        failure = produced.failure or FailureKind.INVALID_OUTPUT
        return Result(produced.record, failure=failure, message=produced.message or "no predictions")
    try:
        predictions = _validate(job.spec, truth, produced.data, produced.file_format)
    except PredictionFileError as exc:
        if job.kind is Kind.PREDICTIONS:
            return Result(produced.record, failure=FailureKind.INVALID_PREDICTIONS, message=str(exc))
        return Result(produced.record, failure=FailureKind.INVALID_OUTPUT, message=f"invalid output: {exc}")
    try:
        scores = await _scores(runtime, job, truth, predictions.values)
    except ScorerError as exc:
        return _scorer_failed(job, exc, produced.record)
    record = produced.record
    # What a model or code run predicted is kept for the board's bootstrap pass (runner.uncertainty);
    # an uploaded file is kept already, and the pass reads it again.
    if job.spec.has_uncertainty and job.kind is not Kind.PREDICTIONS:
        record = record | {
            "predictions_sha256": runtime.store.put_bytes(predictions_bytes(predictions.values))
        }
    return Result(record, scores=scores, predictions=predictions.values)


def score_values(scores: Scores) -> dict[str, Any]:
    """The submission's columns a scored result sets."""
    return {
        "status": Status.SCORED,
        "public_score": finite_or_none(scores.public_score),
        "private_score": finite_or_none(scores.private_score),
        "metrics": scores.as_json(),
        "error": None,
        "failure": None,
    }


async def evaluate_submission(
    sessions: SessionMaker, runtime: Runtime, submission_id: int, *, stale_after: timedelta
) -> Outcome | None:
    """Score one submission: claim → read the challenge's files once → compute → write the result and
    the team's best in one transaction. None when there was nothing to do (already finished, or
    another worker has it)."""
    async with sessions() as session:
        job = await _claim(session, runtime, submission_id, stale_after)
        if job is None:
            return None
        logs.bind(challenge=job.slug, kind=job.kind.value)
        result = await compute(runtime, job, partial(_running, sessions, submission_id))
        if result.scores is None:
            assert result.failure is not None
            written = await write_failure(
                session, submission_id, result.failure, result.message, result.record
            )
            if written and _unusable_upload(job, result.failure):
                await drop_refused_upload(session, runtime.store, job.sha256)
            return _finished(job, Status.FAILED, result.failure)
        values = score_values(result.scores)
        written = await write_result(session, submission_id, **values, **result.record)
        # In the same transaction: the board reads each team's best from here. A submission disqualified
        # while it waited is scored for the record, but is never its team's best.
        # Nor is one over the board's efficiency rules (its team sees why on the submission).
        used = Efficiency(*(result.record.get(k) for k in ("wall_s", "cpu_s", "peak_memory_mb")))
        ranked = job.spec.limits.board_rules.allow(used)
        if written is not None and ranked and not written.disqualified:
            entry = ScoredSubmission(
                submission_id,
                job.team_id,
                job.challenge_id,
                values["public_score"],
                job.created_at,
                job.phase,
            )
            await record_best(session, entry, higher_is_better=job.spec.primary_metric.higher_is_better)
            if job.spec.ladder and result.predictions is not None and values["public_score"] is not None:
                await ladder_step(
                    session,
                    runtime.store,
                    job.spec,
                    runtime.truths.get(job.spec, job.files[FileRole.TEST_LABELS].sha256),
                    challenge_id=job.challenge_id,
                    phase=job.phase,
                    team_id=job.team_id,
                    submission_id=submission_id,
                    predictions=result.predictions,
                )
        await session.commit()
        return _finished(job, Status.SCORED) if written is not None else None


def _unusable_upload(job: Job, failure: FailureKind) -> bool:
    """The uploaded file itself was refused (not what a team's code produced from it)."""
    return failure.refuses_upload and (
        job.kind is Kind.PREDICTIONS or failure is not FailureKind.INVALID_PREDICTIONS
    )


def _finished(job: Job, status: Status, failure: FailureKind | None = None) -> Outcome:
    latency = (utcnow() - job.created_at).total_seconds()
    return Outcome(
        job.submission_id,
        job.slug,
        job.team_id,
        status,
        job.kind.value,
        failure,
        latency,
        job.spec.has_uncertainty,
    )


async def fail_internal(sessions: SessionMaker, submission_id: int, reason: str) -> Outcome | None:
    """Give up on a submission after our own repeated failures; it does not count against the quota."""
    async with sessions() as session:
        result = await session.exec(
            update(Submission)
            .where(
                col(Submission.id) == submission_id,
                col(Submission.status).in_([Status.QUEUED, Status.RUNNING]),
            )
            .values(
                status=Status.FAILED,
                error=reason,
                failure=FailureKind.INTERNAL,
                counts_toward_quota=FailureKind.INTERNAL.uses_quota,
                finished_at=utcnow(),
            )
        )
        await session.commit()
        if result.rowcount != 1:
            return None
        submission = await session.get(Submission, submission_id)
        challenge = await session.get(Challenge, submission.challenge_id) if submission else None
        if submission is None or challenge is None:
            return None  # deleted meanwhile: no board to tell
        return Outcome(submission_id, challenge.slug, submission.team_id, Status.FAILED)


async def release(sessions: SessionMaker, submission_id: int) -> None:
    """Hand a claimed submission back to the queue after our own failure, so a retry can claim it at once."""
    async with sessions() as session:
        await session.exec(
            update(Submission)
            .where(col(Submission.id) == submission_id, col(Submission.status) == Status.RUNNING)
            .values(status=Status.QUEUED)
        )
        await session.commit()


def board_event(outcome: Outcome) -> str:
    return board_message(
        outcome.challenge, outcome.team_id, submission=outcome.submission_id, status=outcome.status
    )
