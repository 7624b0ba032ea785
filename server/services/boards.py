"""Boards: the public and private leaderboards of a challenge, built by scoring.ranking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from scoring.ranking import Board, BoardEntry, ScoredSubmission, TeamActivity, build_board
from server.errors import Forbidden
from server.models import Challenge, Status, Submission, Team, TeamBest, utcnow
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
        select(Team.id, Team.name, Team.submissions, Team.last_submission_at).where(
            Team.challenge_id == challenge_id, col(Team.submissions) > 0
        )
    )
    return {
        team_id: TeamActivity(name=name, submissions=count, last_submission_at=last)
        for team_id, name, count, last in rows
        if team_id is not None
    }


async def record_best(session: AsyncSession, submission: Submission, *, higher_is_better: bool) -> None:
    """Keep the team's best public submission, atomically (two workers may score one team at once).

    Part of the caller's transaction. Better score wins; on a tie the earlier submission stays.
    """
    if submission.public_score is None or submission.id is None:
        return
    dialect = (await session.connection()).dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(TeamBest).values(
        team_id=submission.team_id,
        challenge_id=submission.challenge_id,
        submission_id=submission.id,
        public_score=submission.public_score,
        created_at=submission.created_at,
    )
    new, old = statement.excluded, TeamBest.__table__.c
    better = new.public_score > old.public_score if higher_is_better else new.public_score < old.public_score
    earlier = (new.public_score == old.public_score) & (
        (new.created_at < old.created_at)
        | ((new.created_at == old.created_at) & (new.submission_id < old.submission_id))
    )
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=[old.team_id],
            set_={
                "submission_id": new.submission_id,
                "public_score": new.public_score,
                "created_at": new.created_at,
            },
            where=better | earlier,
        )
    )


def ensure_visible(spec: ChallengeSpec, board: Board, viewer: Viewer | None) -> None:
    if board is Board.PRIVATE and not private_visible(viewer, spec, utcnow()):
        closes = spec.schedule.closes
        when = f"after the close at {closes.isoformat()}" if closes else "once the challenge has closed"
        raise Forbidden(f"the private board is visible to organisers and judges; to everyone else {when}")


async def _candidates(session: AsyncSession, challenge_id: int) -> list[ScoredSubmission]:
    """Each team's best public submission (kept in TeamBest) and every final selection: all the rules need.

    scoring.ranking then applies the rules (direction, ties to the earlier submission, finals) to these.
    """
    best = select(TeamBest.submission_id).where(TeamBest.challenge_id == challenge_id)
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
    candidates = await _candidates(session, challenge.id)
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
