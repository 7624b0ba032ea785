"""Each team's best public submission (TeamBest), recomputed when what counts changes: a submission
disqualified or reinstated, or rescored. The worker keeps it up to date as it scores (runner.results)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Disqualification, Status, Submission, TeamBest


def disqualified_submissions(challenge_id: int):  # type: ignore[no-untyped-def]
    """The ids of a challenge's disqualified submissions, as a subquery."""
    return select(Disqualification.submission_id).where(
        Disqualification.challenge_id == challenge_id, col(Disqualification.submission_id).is_not(None)
    )


async def is_disqualified(session: AsyncSession, challenge_id: int, submission_id: int) -> bool:
    found = await session.exec(
        select(Disqualification.id).where(
            Disqualification.challenge_id == challenge_id, Disqualification.submission_id == submission_id
        )
    )
    return found.first() is not None


async def recompute_best(
    session: AsyncSession, challenge_id: int, team_id: int, *, higher_is_better: bool
) -> None:
    """Rewrite the team's best from its scored, not disqualified submissions; the caller commits."""
    await session.exec(delete(TeamBest).where(col(TeamBest.team_id) == team_id))
    score = col(Submission.public_score)
    best = (
        await session.exec(
            select(Submission)
            .where(
                Submission.team_id == team_id,
                Submission.status == Status.SCORED,
                score.is_not(None),
                col(Submission.id).not_in(disqualified_submissions(challenge_id)),
            )
            .order_by(
                score.desc() if higher_is_better else score.asc(),
                col(Submission.created_at),
                col(Submission.id),
            )
            .limit(1)
        )
    ).first()
    if best is not None and best.id is not None and best.public_score is not None:
        session.add(
            TeamBest(
                team_id=team_id,
                challenge_id=challenge_id,
                submission_id=best.id,
                public_score=best.public_score,
                created_at=best.created_at,
            )
        )
