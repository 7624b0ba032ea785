"""What a challenge's boards are built from, read from the database: per team, its candidate
submissions (its best public one, kept in TeamBest, its final selections, and under the Ladder its
released ones) and its activity.
scoring.ranking applies the board rules to them."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.best import disqualified_submissions
from core.models import ChallengeStaff, Disqualification, Member, Status, Submission, Team, TeamBest
from scoring.ranking import Efficiency, ScoredSubmission, TeamActivity

Candidates = dict[int, list[ScoredSubmission]]


async def read_board(
    session: AsyncSession, challenge_id: int, phase: str, team_ids: Collection[int] | None = None
) -> tuple[Candidates, dict[int, TeamActivity]]:
    """The candidates and activity of every team of a challenge on a phase's boards, or only of
    `team_ids`."""
    columns = (
        Submission.id,
        Submission.team_id,
        Submission.created_at,
        Submission.public_score,
        Submission.private_score,
        Submission.metrics,
        Submission.final,
        Submission.released,
        Submission.wall_s,
        Submission.cpu_s,
        Submission.peak_memory_mb,
    )
    disqualified_entries = disqualified_submissions(challenge_id)
    best_query = (
        select(*columns)
        .join(TeamBest, col(TeamBest.submission_id) == Submission.id)
        .where(
            TeamBest.challenge_id == challenge_id,
            TeamBest.phase == phase,
            Submission.status == Status.SCORED,
            col(Submission.id).not_in(disqualified_entries),
        )
    )
    # Two indexed reads rather than one OR, which would walk every scored submission of the challenge.
    finals_query, released_query = (
        select(*columns).where(
            Submission.challenge_id == challenge_id,
            Submission.phase == phase,
            flag,
            Submission.status == Status.SCORED,
            col(Submission.id).not_in(disqualified_entries),
        )
        # Under the Ladder a team's public entry is its best released submission (a few per team).
        for flag in (col(Submission.final), col(Submission.released))
    )
    # On the boards: teams that submitted, have members, none of them staff, and are not disqualified.
    staff_teams = (
        select(Member.team_id)
        .join(ChallengeStaff, col(ChallengeStaff.user_id) == Member.user_id)
        .where(Member.challenge_id == challenge_id, ChallengeStaff.challenge_id == challenge_id)
    )
    manned = select(Member.team_id).where(Member.challenge_id == challenge_id)
    disqualified = select(Disqualification.team_id).where(
        Disqualification.challenge_id == challenge_id, col(Disqualification.team_id).is_not(None)
    )
    teams_query = select(Team.id, Team.name, Team.submissions, Team.last_submission_at).where(
        Team.challenge_id == challenge_id,
        col(Team.submissions) > 0,
        col(Team.id).in_(manned),
        col(Team.id).not_in(staff_teams),
        col(Team.id).not_in(disqualified),
    )
    if team_ids is not None:
        best_query = best_query.where(col(TeamBest.team_id).in_(team_ids))
        finals_query = finals_query.where(col(Submission.team_id).in_(team_ids))
        released_query = released_query.where(col(Submission.team_id).in_(team_ids))
        teams_query = teams_query.where(col(Team.id).in_(team_ids))
    teams = {
        team_id: TeamActivity(name=name, submissions=count, last_submission_at=last)
        for team_id, name, count, last in await session.exec(teams_query)
        if team_id is not None
    }
    rows = {
        row[0]: row
        for query in (best_query, finals_query, released_query)
        for row in await session.exec(query)
    }
    candidates: dict[int, list[ScoredSubmission]] = {}
    for i, t, c, p, q, m, f, r, *used in rows.values():  # a best submission may also be a final one: once
        if t not in teams:
            continue
        candidates.setdefault(t, []).append(
            ScoredSubmission(
                submission_id=i,
                team_id=t,
                created_at=c,
                public_score=p,
                private_score=q,
                metrics=m,
                final=f,
                released=r,
                efficiency=Efficiency(*used),
            )
        )
    return candidates, teams
