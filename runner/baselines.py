"""A bundle's model and code baselines, run in a worker's sandbox as a team's submission would be
(runner.evaluation.compute) and scored against the challenge's labels.

A baseline row is claimed (queued → running, or running past its time limit: its worker died) under a
new version; the result is written only while the row is still that claim, so a bundle replaced in the
meantime (new rows, queued again) is never given an old run's scores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import Kind
from core.challenges import spec_of
from core.db import SessionMaker
from core.models import Baseline, BaselineState, Challenge, utcnow
from core.queue import baseline_version
from runner.contexts import load_context
from runner.environments import EnvironmentNotReady
from runner.evaluation import Runtime, always_ours, compute, job_for, score_values
from runner.reconcile import stale_after as stale_after_for
from scoring.validate import FileFormat

log = logging.getLogger(__name__)

ERROR_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Ran:
    """A baseline's run ended (scored or failed): the challenge's boards may have changed."""

    slug: str
    state: BaselineState


def _claimable(now: datetime, stale: timedelta):  # type: ignore[no-untyped-def]
    return (col(Baseline.state) == BaselineState.QUEUED) | (
        (col(Baseline.state) == BaselineState.RUNNING) & (col(Baseline.updated_at) < now - stale)
    )


async def _claim(
    session: AsyncSession, challenge_id: int, phase: str, name: str, base: timedelta
) -> tuple[Baseline, datetime] | None:
    row = await session.get(Baseline, (challenge_id, phase, name))
    challenge = await session.get(Challenge, challenge_id)
    if row is None or challenge is None:
        return None
    now = utcnow()
    stale = stale_after_for(spec_of(challenge).phase_spec(phase), Kind(row.kind), base)
    claimed = await session.exec(
        update(Baseline)
        .where(
            col(Baseline.challenge_id) == challenge_id,
            col(Baseline.phase) == phase,
            col(Baseline.name) == name,
            _claimable(now, stale),
        )
        .values(state=BaselineState.RUNNING, updated_at=now, error=None)
    )
    await session.commit()
    if claimed.rowcount != 1:
        return None
    await session.refresh(row)
    return row, now


async def _write(
    session: AsyncSession, challenge_id: int, phase: str, name: str, claimed_at: datetime, **values: object
) -> bool:
    written = await session.exec(
        update(Baseline)
        .where(
            col(Baseline.challenge_id) == challenge_id,
            col(Baseline.phase) == phase,
            col(Baseline.name) == name,
            col(Baseline.state) == BaselineState.RUNNING,
            col(Baseline.updated_at) == claimed_at,
        )
        .values(**values)
    )
    await session.commit()
    return written.rowcount == 1


async def run_baseline(
    sessions: SessionMaker,
    runtime: Runtime,
    challenge_id: int,
    phase: str,
    name: str,
    *,
    stale_after: timedelta,
) -> Ran | None:
    """Run and score one baseline (None: nothing to do, another worker has it, or it waits for the
    challenge's environment and is queued again)."""
    async with sessions() as session:
        claim = await _claim(session, challenge_id, phase, name, stale_after)
        if claim is None:
            return None
        row, claimed_at = claim
        job = job_for(
            await load_context(session, challenge_id, phase),
            submission_id=0,  # not a submission: nothing is claimed or cancelled through it
            team_id=0,
            kind=Kind(row.kind),
            file_format=FileFormat(row.file_format),
            sha256=row.sha256,
            created_at=claimed_at,
            filename=row.filename,
            phase=phase,
        )
        # Nothing held open while the sandbox runs (a commit, not a rollback: the job's files stay loaded).
        await session.commit()
        try:
            result = await compute(runtime, job, always_ours)
        except EnvironmentNotReady:
            # Queued again under a new version: the reconciler hands it out once the environment is built.
            await _write(
                session,
                challenge_id,
                phase,
                name,
                claimed_at,
                state=BaselineState.QUEUED,
                updated_at=utcnow(),
            )
            return None
        except Exception as exc:  # ours (Docker, files): said to the organisers, who can run it again
            log.exception("challenge %s: baseline %r could not be run", job.slug, name)
            message = f"the platform could not run this baseline: {exc!r}"[:ERROR_CHARS]
            await _write(
                session, challenge_id, phase, name, claimed_at, state=BaselineState.FAILED, error=message
            )
            return Ran(job.slug, BaselineState.FAILED)
        if result.scores is None:
            logs = result.record.get("logs") or result.record.get("scorer_logs") or ""
            error = "\n\n".join(part for part in (result.message, logs) if part)[:ERROR_CHARS]
            written = await _write(
                session, challenge_id, phase, name, claimed_at, state=BaselineState.FAILED, error=error
            )
            return Ran(job.slug, BaselineState.FAILED) if written else None
        values = score_values(result.scores)
        written = await _write(
            session,
            challenge_id,
            phase,
            name,
            claimed_at,
            state=BaselineState.SCORED,
            public_score=values["public_score"],
            private_score=values["private_score"],
            metrics=values["metrics"],
        )
        log.info("challenge %s: baseline %r scored %s", job.slug, name, values["public_score"])
        return Ran(job.slug, BaselineState.SCORED) if written else None


async def waiting(sessions: SessionMaker, base: timedelta) -> list[tuple[int, str, str, str]]:
    """Baselines to hand to the workers (challenge id, phase, name, version): queued, or running past their
    time (their worker died)."""
    now = utcnow()
    async with sessions() as session:
        rows = await session.exec(
            select(Baseline, Challenge)
            .join(Challenge, col(Challenge.id) == Baseline.challenge_id)
            .where(col(Baseline.state).in_([BaselineState.QUEUED, BaselineState.RUNNING]))
        )
        found = []
        for row, challenge in rows:
            stale = stale_after_for(spec_of(challenge).phase_spec(row.phase), Kind(row.kind), base)
            if row.state == BaselineState.QUEUED or (
                row.updated_at is not None and row.updated_at < now - stale
            ):
                found.append((row.challenge_id, row.phase, row.name, baseline_version(row.updated_at)))
        return found
