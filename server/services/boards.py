"""Boards: the public and private leaderboards of a challenge, built by scoring.ranking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from scoring.ranking import Board, BoardEntry, ScoredSubmission, TeamActivity, build_board
from server.errors import Forbidden
from server.models import Challenge, Status, Submission, Team, utcnow
from server.services.accounts import Viewer
from server.services.challenges import spec_of
from server.services.submissions import private_visible


@dataclass(frozen=True, slots=True)
class Leaderboard:
    board: Board
    metric: str
    higher_is_better: bool
    entries: list[BoardEntry]


async def _team_activity(session: AsyncSession, challenge_id: int) -> dict[int, TeamActivity]:
    rows = await session.exec(
        select(Team.id, Team.name, func.count(col(Submission.id)), func.max(Submission.created_at))
        .join(Submission, col(Submission.team_id) == Team.id)
        .where(Team.challenge_id == challenge_id, Submission.status != Status.CANCELLED)
        .group_by(col(Team.id), col(Team.name))
    )
    # max() keeps the column's type, so last_submission_at comes back as aware UTC.
    return {
        team_id: TeamActivity(name=name, submissions=count, last_submission_at=last)
        for team_id, name, count, last in rows
    }


def ensure_visible(spec: ChallengeSpec, board: Board, viewer: Viewer | None) -> None:
    if board is Board.PRIVATE and not private_visible(viewer, spec, utcnow()):
        closes = spec.schedule.closes
        when = f"after the close at {closes.isoformat()}" if closes else "once the challenge has closed"
        raise Forbidden(f"the private board is visible to organisers and judges; to everyone else {when}")


async def _candidates(
    session: AsyncSession, challenge_id: int, higher_is_better: bool
) -> list[ScoredSubmission]:
    """Each team's best public submission and every final selection: all the board rules need.

    The database narrows a million submissions to a few per team; scoring.ranking then applies the
    rules (direction, ties to the earlier submission, finals) to what is left.
    """
    score = col(Submission.public_score)
    ranked = (
        select(
            col(Submission.id).label("sid"),
            func.row_number()
            .over(
                partition_by=col(Submission.team_id),
                order_by=(
                    score.desc() if higher_is_better else score.asc(),
                    col(Submission.created_at),
                    col(Submission.id),
                ),
            )
            .label("rn"),
        )
        .where(
            Submission.challenge_id == challenge_id, Submission.status == Status.SCORED, score.is_not(None)
        )
        .subquery()
    )
    best = select(ranked.c.sid).where(ranked.c.rn == 1)
    rows = await session.exec(
        select(
            Submission.id,
            Submission.team_id,
            Submission.created_at,
            Submission.public_score,
            Submission.private_score,
            Submission.metrics,
            Submission.final,
        ).where(
            Submission.challenge_id == challenge_id,
            Submission.status == Status.SCORED,
            or_(col(Submission.id).in_(best), col(Submission.final)),
        )
    )
    return [
        ScoredSubmission(
            submission_id=i, team_id=t, created_at=c, public_score=p, private_score=q, metrics=m, final=f
        )
        for i, t, c, p, q, m, f in rows
    ]


async def leaderboard(
    session: AsyncSession, challenge: Challenge, board: Board, viewer: Viewer | None
) -> Leaderboard:
    spec = spec_of(challenge)
    ensure_visible(spec, board, viewer)
    assert challenge.id is not None
    metric = spec.primary_metric
    candidates = await _candidates(session, challenge.id, metric.higher_is_better)
    entries = build_board(
        board,
        candidates,
        await _team_activity(session, challenge.id),
        higher_is_better=metric.higher_is_better,
    )
    return Leaderboard(
        board=board, metric=metric.name, higher_is_better=metric.higher_is_better, entries=entries
    )


async def score_history(
    session: AsyncSession, challenge: Challenge
) -> list[tuple[str, datetime, float | None]]:
    """(team, submitted at, public score) of every scored submission, for the progression chart."""
    rows = await session.exec(
        select(Team.name, Submission.created_at, Submission.public_score)
        .join(Team, col(Team.id) == Submission.team_id)
        .where(Submission.challenge_id == challenge.id, Submission.status == Status.SCORED)
    )
    return [(name, created_at, score) for name, created_at, score in rows]
