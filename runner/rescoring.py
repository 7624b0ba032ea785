"""Rescoring a challenge's scored submissions: each one's new result replaces its old in one write,
and the boards are told once, when the last one is done.

At-least-once delivery is safe: a submission is counted once per rescore (its `rescore_id` is the
claim, set in the same transaction as its new result).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from core.best import recompute_best
from core.challenges import ChallengeFiles, spec_of
from core.db import SessionMaker
from core.models import BootstrapScores, Challenge, FailureKind, Rescore, Status, Submission, utcnow
from core.scheduling import lanes_of
from runner.evaluation import Runtime, always_ours, compute, load_job, score_values
from runner.ladder import replay

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finished:
    """The rescore whose last submission this was: the challenge's boards changed."""

    challenge: str


async def _count(session: AsyncSession, rescore_id: int, *, failed: bool) -> None:
    await session.exec(
        update(Rescore)
        .where(col(Rescore.id) == rescore_id)
        .values(done=col(Rescore.done) + 1, failed=col(Rescore.failed) + (1 if failed else 0))
    )


async def _finish(session: AsyncSession, rescore_id: int) -> Finished | None:
    """Mark the rescore finished if this was its last submission; exactly one caller sees it finish."""
    result = await session.exec(
        update(Rescore)
        .where(
            col(Rescore.id) == rescore_id,
            col(Rescore.done) >= col(Rescore.total),
            col(Rescore.finished_at).is_(None),
        )
        .values(finished_at=utcnow())
    )
    await session.commit()
    if result.rowcount != 1:
        return None
    slug = (
        await session.exec(
            select(Challenge.slug)
            .join(Rescore, col(Rescore.challenge_id) == Challenge.id)
            .where(Rescore.id == rescore_id)
        )
    ).first()
    return Finished(slug) if slug else None


async def _claim(session: AsyncSession, rescore_id: int, submission_id: int) -> bool:
    result = await session.exec(
        update(Submission)
        .where(
            col(Submission.id) == submission_id,
            (col(Submission.rescore_id).is_(None)) | (col(Submission.rescore_id) != rescore_id),
        )
        .values(rescore_id=rescore_id)
    )
    return result.rowcount == 1


async def rescore_submission(
    sessions: SessionMaker, runtime: Runtime, rescore_id: int, submission_id: int
) -> Finished | None:
    async with sessions() as session:
        job = await load_job(session, submission_id)
        status = (await session.exec(select(Submission.status).where(Submission.id == submission_id))).first()
        result = None
        if job is not None and status == Status.SCORED:
            result = await compute(runtime, job, always_ours)
        if not await _claim(session, rescore_id, submission_id):
            await session.rollback()
            log.info("submission %s: already counted in rescore %s", submission_id, rescore_id)
            return await _finish(session, rescore_id)
        failed = False
        if job is not None and result is not None:
            values = (
                score_values(result.scores)
                if result.scores is not None
                else {"status": Status.FAILED, "failure": result.failure, "error": result.message[:4000]}
            )
            failed = result.scores is None
            changed = await session.exec(
                update(Submission)
                .where(col(Submission.id) == submission_id, col(Submission.status) == Status.SCORED)
                .values(**values, **result.record)
            )
            if changed.rowcount == 1:
                await recompute_best(session, job.challenge_id, job.phase, job.team_id, job.spec)
                # Its resampled scores were of the old labels or split: the next pass computes them anew.
                await session.exec(
                    delete(BootstrapScores).where(col(BootstrapScores.submission_id) == submission_id)
                )
        await _count(session, rescore_id, failed=failed)
        await session.commit()
        finished = await _finish(session, rescore_id)
        if finished is not None:
            await _replay_ladder(session, runtime, finished.challenge)
        return finished


async def _replay_ladder(session: AsyncSession, runtime: Runtime, slug: str) -> None:
    """The rescore is done: under the Ladder, each team's releases are decided again on the new scores."""
    challenge = (await session.exec(select(Challenge).where(Challenge.slug == slug))).first()
    if challenge is None or challenge.id is None:
        return
    whole = spec_of(challenge)
    for phase in whole.phase_keys:
        if not (spec := whole.phase_spec(phase)).ladder:
            continue
        files = await ChallengeFiles.load(session, challenge.id, phase)
        truth = runtime.truths.get(spec, files[FileRole.TEST_LABELS].sha256)
        await replay(session, runtime.store, spec, truth, challenge.id, phase)
    await session.commit()


async def give_up(
    sessions: SessionMaker, rescore_id: int, submission_id: int, reason: str
) -> Finished | None:
    """Our side failed on this submission too often: it is failed (no quota) and counted."""
    async with sessions() as session:
        if await _claim(session, rescore_id, submission_id):
            await session.exec(
                update(Submission)
                .where(col(Submission.id) == submission_id, col(Submission.status) == Status.SCORED)
                .values(
                    status=Status.FAILED,
                    failure=FailureKind.INTERNAL,
                    error=reason,
                    counts_toward_quota=False,
                )
            )
            await _count(session, rescore_id, failed=True)
            await session.commit()
        return await _finish(session, rescore_id)


async def lost_parts(
    sessions: SessionMaker, *, older_than: timedelta, limit: int = 1000
) -> list[tuple[int, int, str]]:
    """(rescore, submission, lane) triples of rescores unfinished after `older_than` whose submission is not
    counted yet. Enqueueing them again is safe: arq refuses a job id it still holds (queued, running
    or just done), so only jobs Redis has lost run again."""
    cutoff = utcnow() - older_than
    async with sessions() as session:
        rows = await session.exec(
            select(Rescore.id, Submission.id)
            .join(Submission, col(Submission.challenge_id) == Rescore.challenge_id)
            .where(
                col(Rescore.finished_at).is_(None),
                col(Rescore.started_at) < cutoff,
                Submission.status == Status.SCORED,
                col(Submission.created_at) <= Rescore.started_at,
                col(Submission.rescore_id).is_(None) | (col(Submission.rescore_id) != Rescore.id),
            )
            .order_by(col(Rescore.id), col(Submission.id))
            .limit(limit)
        )
        pairs = [(r, s) for r, s in rows if r is not None and s is not None]
        lanes = await lanes_of(session, sorted({s for _, s in pairs}))
        return [(r, s, lanes[s]) for r, s in pairs]
