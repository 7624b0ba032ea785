"""Evaluating one submission: claim it, score its predictions against the hidden labels, record the result.

Idempotent under at-least-once delivery: a submission is claimed with a conditional update
(queued, or running but stale), and its result is written only while it is still ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from challenges.spec import ChallengeSpec, Kind
from runner.custom_scoring import ScorerError, score_with_scorer
from runner.execution import prepare_and_run
from runner.queue import board_message
from runner.reconcile import stale_after as stale_after_for
from runner.sandbox import Sandbox, SandboxError
from scoring.errors import PredictionFileError
from scoring.truth import GroundTruth, Scores, finite_or_none, load_truth, score
from scoring.validate import FileFormat, Predictions, read_predictions
from server.db import SessionMaker
from server.models import Challenge, FailureKind, Status, Submission, utcnow
from server.services.boards import record_best
from server.services.challenges import challenge_file, spec_of
from server.storage import BlobStore, TooLargeError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    submission_id: int
    challenge: str
    team_id: int  # the team whose board entry may have changed
    status: Status


class TruthCache:
    """Parsed hidden test sets, kept per (labels file, spec) so each is read once per worker process."""

    def __init__(self, store: BlobStore, max_entries: int = 32) -> None:
        self.store = store
        self.max_entries = max_entries
        self._entries: dict[str, GroundTruth] = {}

    def get(self, spec: ChallengeSpec, labels_sha256: str) -> GroundTruth:
        key = hashlib.sha256(f"{labels_sha256}:{spec.model_dump_json()}".encode()).hexdigest()
        truth = self._entries.get(key)
        if truth is None:
            data = self.store.read_bytes(labels_sha256, limit=1 << 31)
            truth = load_truth(
                data,
                id_column=spec.id_column,
                target_column=spec.target_column,
                task=spec.task,
                fraction=spec.public_fraction,
                seed=spec.seed,
            )
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = truth
        return truth


def _validate(spec: ChallengeSpec, truth: GroundTruth, data: bytes, file_format: FileFormat) -> Predictions:
    return read_predictions(data, spec.expectation(truth), file_format)


def _score_file(spec: ChallengeSpec, truth: GroundTruth, data: bytes, file_format: FileFormat) -> Scores:
    """Validate and score with the built-in metrics (the benchmark profiles this)."""
    return score(truth, _validate(spec, truth, data, file_format).values, spec.primary_metric, spec.extras)


def _metrics_json(scores: Scores) -> dict[str, Any]:
    # JSON has no NaN: an undefined metric is stored as null.
    return {
        "public": {k: finite_or_none(v) for k, v in scores.public.items()},
        "private": {k: finite_or_none(v) for k, v in scores.private.items()},
    }


async def _claim(session: AsyncSession, submission_id: int, stale_after: timedelta) -> bool:
    now = utcnow()
    result = await session.exec(
        update(Submission)
        .where(
            col(Submission.id) == submission_id,
            or_(
                col(Submission.status) == Status.QUEUED,
                (col(Submission.status) == Status.RUNNING) & (col(Submission.started_at) < now - stale_after),
            ),
        )
        .values(status=Status.RUNNING, started_at=now, attempts=col(Submission.attempts) + 1)
    )
    await session.commit()
    return result.rowcount == 1


async def _finish(
    session: AsyncSession,
    submission_id: int,
    *,
    then: Callable[[], Awaitable[None]] | None = None,
    **values: Any,
) -> bool:
    """Write the result if the submission is still ours (running); `then` runs in the same transaction."""
    result = await session.exec(
        update(Submission)
        .where(col(Submission.id) == submission_id, col(Submission.status) == Status.RUNNING)
        .values(finished_at=utcnow(), **values)
    )
    written = result.rowcount == 1
    if written and then is not None:
        await then()
    await session.commit()
    return written


async def _fail(
    session: AsyncSession, submission_id: int, failure: FailureKind, message: str, record: dict[str, Any]
) -> None:
    await _finish(
        session,
        submission_id,
        status=Status.FAILED,
        error=message[:4000],
        failure=failure,
        counts_toward_quota=failure.uses_quota,
        **record,
    )


@dataclass(slots=True)
class Runtime:
    """What a worker process holds for evaluating: the hidden test sets, and the sandbox if Docker answers."""

    truths: TruthCache
    work_root: Path  # per-run folders for model and code submissions
    sandbox: Sandbox | None = None
    sandbox_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

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


@asynccontextmanager
async def _kill_on_cancel(cancel: threading.Event) -> AsyncIterator[None]:
    """The Docker SDK blocks in a thread that cancellation cannot stop; this tells it to kill the container."""
    try:
        yield
    except asyncio.CancelledError:
        cancel.set()
        raise


async def _produce(
    session: AsyncSession, runtime: Runtime, submission: Submission, spec: ChallengeSpec, truth: GroundTruth
) -> _Produced:
    kind = Kind(submission.kind)
    if kind is Kind.PREDICTIONS:
        data = runtime.store.read_bytes(submission.sha256, limit=spec.limits.upload_bytes)
        return _Produced(data, FileFormat(submission.file_format))
    if runtime.sandbox is None:
        raise SandboxError("this worker has no Docker daemon; model and code submissions need one")
    features = await challenge_file(session, submission.challenge_id, FileRole.TEST_FEATURES)
    cancel = threading.Event()
    async with runtime.sandbox_slots, _kill_on_cancel(cancel):
        execution = await asyncio.to_thread(
            prepare_and_run,
            runtime.sandbox,
            spec=spec,
            kind=kind,
            classes=truth.classes,
            submission_file=runtime.store.path(submission.sha256),
            features_file=runtime.store.path(features.sha256),
            work_root=runtime.work_root,
            predictions_limit=spec.limits.upload_bytes,
            cancel=cancel,
        )
    usage = execution.usage
    record: dict[str, Any] = {"logs": execution.logs or None}
    if usage is not None:
        record |= {"wall_s": usage.wall_s, "cpu_s": usage.cpu_s, "peak_memory_mb": usage.peak_memory_mb}
    return _Produced(execution.predictions, FileFormat.CSV, execution.failure, execution.message, record)


async def _custom_scores(
    session: AsyncSession,
    runtime: Runtime,
    submission: Submission,
    spec: ChallengeSpec,
    truth: GroundTruth,
    values: Any,
) -> Scores:
    if runtime.sandbox is None:
        raise SandboxError("this worker has no Docker daemon; the challenge's scorer needs one")
    labels = await challenge_file(session, submission.challenge_id, FileRole.TEST_LABELS)
    scorer = await challenge_file(session, submission.challenge_id, FileRole.SCORER)
    labels_csv = runtime.store.read_bytes(labels.sha256, limit=1 << 31)
    async with runtime.sandbox_slots:
        return await asyncio.to_thread(
            score_with_scorer,
            runtime.sandbox,
            spec=spec,
            truth=truth,
            values=values,
            labels_csv=labels_csv,
            scorer_file=runtime.store.path(scorer.sha256),
            work_root=runtime.work_root,
        )


async def evaluate_submission(
    sessions: SessionMaker, runtime: Runtime, submission_id: int, *, stale_after: timedelta
) -> Outcome | None:
    """Score one submission; None when there was nothing to do (already finished, or another worker has it)."""
    async with sessions() as session:
        submission = await session.get(Submission, submission_id)
        if submission is None:
            log.warning("submission %s does not exist (deleted?); nothing to do", submission_id)
            return None
        challenge = await session.get(Challenge, submission.challenge_id)
        assert challenge is not None
        slug, spec, team_id = challenge.slug, spec_of(challenge), submission.team_id
        if not await _claim(
            session, submission_id, stale_after_for(spec, Kind(submission.kind), stale_after)
        ):
            log.info("submission %s: already finished or claimed, nothing to do", submission_id)
            return None
        labels = await challenge_file(session, submission.challenge_id, FileRole.TEST_LABELS)
        # Scoring runs on the worker's own thread: it is CPU-bound, and handing it to a thread pool only
        # adds GIL hand-offs (measured: more futex time, lower throughput). Parallelism comes from processes.
        truth = runtime.truths.get(spec, labels.sha256)
        try:
            produced = await _produce(session, runtime, submission, spec, truth)
        except TooLargeError as exc:
            produced = _Produced(None, FileFormat.CSV, FailureKind.INVALID_PREDICTIONS, str(exc))
        if produced.failure is not None or produced.data is None:
            failure = produced.failure or FailureKind.INVALID_OUTPUT
            await _fail(
                session, submission_id, failure, produced.message or "no predictions", produced.record
            )
            return Outcome(submission_id, slug, team_id, Status.FAILED)
        try:
            predictions = _validate(spec, truth, produced.data, produced.file_format)
        except PredictionFileError as exc:
            if Kind(submission.kind) is Kind.PREDICTIONS:
                await _fail(
                    session, submission_id, FailureKind.INVALID_PREDICTIONS, str(exc), produced.record
                )
            else:
                message = f"invalid output: {exc}"
                await _fail(session, submission_id, FailureKind.INVALID_OUTPUT, message, produced.record)
            return Outcome(submission_id, slug, team_id, Status.FAILED)
        if spec.scorer is None:
            scores = score(truth, predictions.values, spec.primary_metric, spec.extras)
        else:
            try:
                scores = await _custom_scores(session, runtime, submission, spec, truth, predictions.values)
            except ScorerError as exc:
                # The organiser's code failed, not the participant's: its logs may show labels, so they stay here.
                log.warning(
                    "challenge %s: scorer failed on submission %s: %s\n%s", slug, submission_id, exc, exc.logs
                )
                message = "the challenge's scorer failed on this submission; the organisers can see why and rescore it"
                await _fail(session, submission_id, FailureKind.SCORER_FAILED, message, produced.record)
                return Outcome(submission_id, slug, team_id, Status.FAILED)
        submission.public_score = finite_or_none(scores.public_score)
        written = await _finish(
            session,
            submission_id,
            status=Status.SCORED,
            public_score=submission.public_score,
            private_score=finite_or_none(scores.private_score),
            metrics=_metrics_json(scores),
            error=None,
            # In the same transaction: the board reads each team's best from here.
            then=lambda: record_best(
                session, submission, higher_is_better=spec.primary_metric.higher_is_better
            ),
            **produced.record,
        )
        return Outcome(submission_id, slug, team_id, Status.SCORED) if written else None


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
