"""A phase's start: CodaLab's auto_migration. When a phase that migrates opens, each team's final
selections of the phase before (else its best public submission) are sent again into it, to be scored
on its data. Done once per phase (PhaseStart's key), by whichever worker's reconciler sees it first."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec, Kind
from core.best import rankable
from core.chain import append
from core.challenges import spec_of
from core.db import SessionMaker
from core.models import Challenge, ChallengeState, PhaseStart, Submission
from core.scheduling import Placement, placement
from scoring.ranking import NO_RULES

log = logging.getLogger(__name__)


async def carried(
    session: AsyncSession, challenge_id: int, before: ChallengeSpec, phase: str, kinds: Collection[Kind]
) -> list[Submission]:
    """What each team carries out of `phase` (run as `before` says) into a phase taking `kinds`: its
    final selections, else its best public submission, of those kinds; never a disqualified one, nor
    the staff's trials. A prediction file answers one test set: it goes on only if the next phase takes
    prediction files (the same ids, other labels); models and code are run again on the new data."""
    rows = await session.exec(
        select(Submission)
        .where(
            *rankable(challenge_id, phase, NO_RULES),  # scored, with a public score, not disqualified
            ~col(Submission.staff_test),
            col(Submission.kind).in_([k.value for k in kinds]),
        )
        .order_by(col(Submission.team_id), col(Submission.created_at), col(Submission.id))
    )
    sign = -1.0 if before.primary_metric.higher_is_better else 1.0
    found: list[Submission] = []
    for _, group in groupby(rows, key=attrgetter("team_id")):
        team = list(group)
        finals = [s for s in team if s.final]
        # Else the best; of equals, the earliest (sorted() keeps the order of equal keys).
        found += finals or sorted(team, key=lambda s: sign * (s.public_score or 0.0))[:1]
    return sorted(found, key=lambda s: s.id or 0)


async def start_phases(sessions: SessionMaker, now: datetime) -> list[tuple[int, Placement]]:
    """Migrate into every phase that has opened and migrates, once; the new (queued) submissions, each
    with where it goes in the queue."""
    queued: list[tuple[int, Placement]] = []
    async with sessions() as session:
        rows = await session.exec(select(Challenge).where(col(Challenge.state) != ChallengeState.DRAFT))
        due = [
            (challenge.id, challenge.slug, spec, phase.key)
            for challenge in rows
            for spec in [spec_of(challenge)]
            for phase in spec.phases
            if phase.migrate and phase.schedule.opens is not None and phase.schedule.opens <= now
        ]
        for challenge_id, slug, spec, phase in due:
            assert challenge_id is not None
            if await session.get(PhaseStart, (challenge_id, phase)) is not None:
                continue
            before = spec.phase_before(phase)
            assert before is not None  # the first phase never migrates (ChallengeSpec)
            runs = spec.phase_spec(phase)
            sources = await carried(session, challenge_id, spec.phase_spec(before), before, runs.kinds)
            created = await _migrate(session, challenge_id, slug, phase, before, sources, now)
            queued += [(s.id, await placement(session, s, runs)) for s in created if s.id is not None]
    return queued


async def _migrate(
    session: AsyncSession,
    challenge_id: int,
    slug: str,
    phase: str,
    before: str,
    sources: list[Submission],
    now: datetime,
) -> list[Submission]:
    """The phase's start recorded and its migrated submissions queued, in one transaction."""
    try:
        session.add(PhaseStart(challenge_id=challenge_id, phase=phase, migrated=len(sources), at=now))
        await session.flush()
    except IntegrityError:  # another worker's reconciler started this phase first: nothing to do
        await session.rollback()
        return []
    created = []
    for source in sources:
        submission = Submission(
            challenge_id=challenge_id,
            team_id=source.team_id,
            user_id=source.user_id,
            phase=phase,
            kind=source.kind,
            file_format=source.file_format,
            filename=source.filename,
            sha256=source.sha256,
            size=source.size,
            note=f"migrated from phase {before!r} (submission {source.id})",
            counts_toward_quota=False,  # the platform sent it, not the team
            created_at=now,
        )
        session.add(submission)
        await session.flush()
        await append(session, slug, submission)  # on the record like any upload
        created.append(submission)
    await session.commit()
    log.info(
        "challenge %s: phase %r opened; %d submission(s) migrated from %r", slug, phase, len(created), before
    )
    return created
