"""The arq job functions. `ctx` carries what the worker built at start-up (see runner.worker)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from arq import Retry
from redis.exceptions import RedisError

from challenges.spec import ONE_PHASE
from core import logs, workers
from core.blobs import sweep_orphans
from core.metrics import record_evaluation
from core.models import BaselineState, EnvironmentState, FailureKind, Status, utcnow
from core.queue import ArqQueue, board_channel, board_message, uncertainty_due, waiting_submissions
from core.scheduling import Placement
from runner import baselines, environments, fairness, heartbeat
from runner.baselines import run_baseline
from runner.budgets import ARQ_MAX_TRIES, JOB_TRIES, RECONCILER_ATTEMPTS
from runner.environments import EnvironmentNotReady
from runner.evaluation import Outcome, board_event, evaluate_submission, fail_internal, release
from runner.fairness import TeamAtCapacity
from runner.phases import start_phases
from runner.reconcile import find_stuck, hand_back, reenqueue
from runner.rescoring import give_up, lost_parts, rescore_submission
from runner.uncertainty import uncertainty_pass

log = logging.getLogger(__name__)

UNCERTAINTY_LOCK_S = 600  # a pass that died holding its challenge's lock frees it after this
ENVIRONMENT_WAIT_S = 60  # between looks at an environment being built, for a submission that needs it


def _retry_delay(exc: Exception, tries: int) -> int | None:
    """Seconds before the next try of a job that failed on our side, or None: give up. A challenge's
    environment being (re)built after its bundle changed is waited for, longer than other failures."""
    if isinstance(exc, EnvironmentNotReady):
        return ENVIRONMENT_WAIT_S if tries < ARQ_MAX_TRIES - 1 else None
    return tries * 2 if tries < JOB_TRIES else None


def _gave_up(exc: Exception, what: str) -> str:
    if isinstance(exc, EnvironmentNotReady):
        return (
            f"the challenge's environment was not ready in time to {what} this; the organisers can rescore it"
        )
    return f"the platform could not {what} this submission; the organisers can rescore it"


async def _publish(ctx: dict[str, Any], outcome: Outcome | None) -> None:
    """Tell the board's live clients, and count the submission in the metrics: one round trip."""
    if outcome is None:
        return
    log.info(
        "submission %s %s%s",
        outcome.submission_id,
        outcome.status.value,
        f" ({outcome.failure})" * bool(outcome.failure),
    )
    pipe = ctx["redis"].pipeline(transaction=False)
    pipe.publish(board_channel(outcome.challenge), board_event(outcome))
    if outcome.latency_s is not None:
        sandboxed = outcome.kind not in ("", "predictions")
        ran = sandboxed and outcome.failure not in (
            FailureKind.VERSION_MISMATCH,
            FailureKind.REJECTED_ARCHIVE,
        )
        await record_evaluation(
            pipe,
            kind=outcome.kind,
            status=outcome.status.value,
            latency_s=outcome.latency_s or 0.0,
            sandbox_outcome=(outcome.failure or "ok") if ran else None,
        )
    try:
        await pipe.execute()
    except RedisError as exc:  # the result is written: the board shows it at its next read
        log.warning("submission %s: board event and metrics not sent: %s", outcome.submission_id, exc)


async def evaluate(ctx: dict[str, Any], submission_id: int) -> str:
    """Score a submission. Our own failures (database, files) are retried; the participant's are a result."""
    logs.bind(submission=submission_id)
    settings = ctx["settings"]
    try:
        outcome = await evaluate_submission(
            ctx["sessions"],
            ctx["runtime"],
            submission_id,
            stale_after=timedelta(seconds=settings.reconcile_after_s),
        )
    except TeamAtCapacity as capped:
        # A fresh job a little later (not arq's Retry: waiting for a slot is not a failed try).
        place = Placement(capped.lane, 0)
        await ArqQueue(ctx["redis"]).enqueue_evaluation(
            submission_id, place, attempt=f"w{time.time_ns()}", defer_s=fairness.WAIT_S
        )
        return "waiting: its team is at its cap of sandbox runs"
    except Exception as exc:
        tries = ctx.get("job_try", 1)
        if (delay := _retry_delay(exc, tries)) is not None:
            log.warning("submission %s: try %d failed (%r); retrying", submission_id, tries, exc)
            try:
                await release(ctx["sessions"], submission_id)
            except Exception:  # the database may be what failed; the reconciler covers this case
                log.warning("submission %s: could not release it for the retry", submission_id)
            raise Retry(defer=delay) from exc
        log.exception("submission %s: giving up after %d tries", submission_id, tries)
        outcome = await fail_internal(ctx["sessions"], submission_id, _gave_up(exc, "score"))
    await _publish(ctx, outcome)
    if outcome is not None and outcome.status is Status.SCORED and outcome.uncertainty:
        await _uncertainty_later(ctx, outcome.challenge)
    return outcome.status.value if outcome else "skipped"


async def _uncertainty_later(ctx: dict[str, Any], slug: str) -> None:
    """Queue the board's uncertainty pass (best effort: the next score or board change queues it again).
    Once per period from this process: arq would refuse the same job id anyway, after a round trip."""
    period = ctx["settings"].uncertainty_period_s
    asked: dict[str, int] = ctx["uncertainty_asked"]
    bucket = uncertainty_due(period)[0]
    if asked.get(slug) == bucket:
        return
    try:
        await ArqQueue(ctx["redis"]).enqueue_uncertainty(slug, period)
        asked[slug] = bucket
    except RedisError as exc:
        log.warning("challenge %s: uncertainty pass not queued: %s", slug, exc)


async def uncertainty(ctx: dict[str, Any], slug: str) -> str:
    """Recompute a challenge's board intervals, ties and rank intervals; then tell the boards."""
    # One pass of a challenge at a time over all workers: a pass slower than the period (a busy host)
    # would otherwise be overtaken by the next one, which would compute the same entries again.
    lock = f"riality:uncertainty:{slug}"
    if not await ctx["redis"].set(lock, "1", nx=True, ex=UNCERTAINTY_LOCK_S):
        await _uncertainty_later(ctx, slug)  # after this one: what changed meanwhile is seen then
        return "another pass is running; queued the next"
    try:
        found = await uncertainty_pass(ctx["sessions"], ctx["runtime"].truths, slug)
    finally:
        await ctx["redis"].delete(lock)
    if found is None:
        return "nothing to do"
    await ctx["redis"].publish(board_channel(slug), board_message(slug, None, uncertainty=True))
    if found.remaining:
        await _uncertainty_later(ctx, slug)
    return f"done, {found.remaining} entries left"


async def build_environment(ctx: dict[str, Any], challenge_id: int) -> str:
    """Resolve and build a challenge's own environment (runner.environments)."""
    state = await environments.build_environment(ctx["sessions"], ctx["runtime"].sandbox, challenge_id)
    if state == EnvironmentState.READY:  # the API accepts uploads once a live worker lists the image
        await heartbeat.beat_now(ctx["redis"], ctx["runtime"], ctx["offer"])
    return state


async def score_baseline(ctx: dict[str, Any], challenge_id: int, name: str, phase: str = ONE_PHASE) -> str:
    """Run and score a bundle's model or code baseline (runner.baselines); the boards show it once scored."""
    settings = ctx["settings"]
    ran = await run_baseline(
        ctx["sessions"],
        ctx["runtime"],
        challenge_id,
        phase,
        name,
        stale_after=timedelta(seconds=settings.reconcile_after_s),
    )
    if ran is None:
        return "nothing to do"
    if ran.state == BaselineState.SCORED:
        await ctx["redis"].publish(board_channel(ran.slug), board_message(ran.slug, None))
    return ran.state


async def rescore(ctx: dict[str, Any], rescore_id: int, submission_id: int) -> str:
    """Score a submission again for a rescore; the last one tells the boards, once."""
    try:
        finished = await rescore_submission(ctx["sessions"], ctx["runtime"], rescore_id, submission_id)
    except Exception as exc:
        tries = ctx.get("job_try", 1)
        if (delay := _retry_delay(exc, tries)) is not None:
            log.warning(
                "rescore %s, submission %s: try %d failed (%r); retrying",
                rescore_id,
                submission_id,
                tries,
                exc,
            )
            raise Retry(defer=delay) from exc
        log.exception("rescore %s, submission %s: giving up after %d tries", rescore_id, submission_id, tries)
        finished = await give_up(ctx["sessions"], rescore_id, submission_id, _gave_up(exc, "rescore"))
    if finished is not None:
        message = board_message(finished.challenge, None, rescore=rescore_id)
        await ctx["redis"].publish(board_channel(finished.challenge), message)
        await _uncertainty_later(ctx, finished.challenge)
        return "finished"
    return "done"


async def reconcile(ctx: dict[str, Any]) -> int:
    """Re-enqueue submissions stuck in queued/running; fail those that were tried too often."""
    settings = ctx["settings"]
    live = await workers.live_ids(ctx["redis"])
    stuck = await find_stuck(
        ctx["sessions"], older_than=timedelta(seconds=settings.reconcile_after_s), live=live
    )
    retry = []
    for item in stuck:
        if item.abandoned_by is not None:
            log.warning(
                "submission %s: its worker %s is gone; another takes it",
                item.submission_id,
                item.abandoned_by,
            )
            await hand_back(ctx["sessions"], item)
        if item.attempts >= RECONCILER_ATTEMPTS:
            await _publish(
                ctx,
                await fail_internal(
                    ctx["sessions"],
                    item.submission_id,
                    f"the platform gave up after {item.attempts} attempts; the organisers can rescore it",
                ),
            )
        else:
            retry.append(item)
    round_id = int(time.time() // max(1, settings.reconcile_after_s))
    queue = ArqQueue(ctx["redis"])
    lost = await lost_parts(ctx["sessions"], older_than=timedelta(seconds=settings.reconcile_after_s))
    for rescore_id, submission_id, lane in lost:
        await queue.enqueue_rescore(rescore_id, submission_id, lane)  # refused by arq unless Redis lost it
    for challenge_id, version in await environments.waiting(ctx["sessions"]):
        await queue.enqueue_environment(challenge_id, version)  # likewise: one job per request
    base = timedelta(seconds=settings.reconcile_after_s)
    for challenge_id, phase, name, version in await baselines.waiting(ctx["sessions"], base):
        await queue.enqueue_baseline(challenge_id, phase, name, version)  # likewise
    for submission_id, where in await start_phases(ctx["sessions"], utcnow()):
        await queue.enqueue_evaluation(submission_id, where)  # a phase opened: what it migrated
    waiting = await waiting_submissions(ctx["redis"])
    return len(await reenqueue(queue, retry, round_id=round_id, waiting=waiting))


async def sweep_blobs(ctx: dict[str, Any]) -> int:
    """Remove stored files no submission references (an API that died between storing and committing)."""
    settings = ctx["settings"]
    async with ctx["sessions"]() as session:
        return await sweep_orphans(
            session, ctx["runtime"].store, older_than=timedelta(seconds=settings.blob_grace_s)
        )
