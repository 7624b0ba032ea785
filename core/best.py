"""Each team's best public submission (TeamBest), recomputed when what counts changes: a submission
disqualified or reinstated, or rescored, or the board's rules changed. The worker keeps it up to date as it scores (runner.results)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, insert, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.models import Disqualification, Status, Submission, TeamBest
from scoring.ranking import BoardRules


def disqualified_submissions(challenge_id: int):  # type: ignore[no-untyped-def]
    """The ids of a challenge's disqualified submissions, as a subquery."""
    return select(Disqualification.submission_id).where(
        Disqualification.challenge_id == challenge_id, col(Disqualification.submission_id).is_not(None)
    )


def allowed_by(rules: BoardRules) -> list[ColumnElement[bool]]:
    """scoring.ranking.BoardRules.allow as SQL conditions on Submission (what the board may rank)."""
    conditions = []
    for column, limit in ((Submission.cpu_s, rules.max_cpu_s), (Submission.peak_memory_mb, rules.max_mib)):
        if limit is not None:
            conditions.append(col(column).is_(None) | (col(column) <= limit))
    return conditions


def rankable(challenge_id: int, phase: str, rules: BoardRules) -> list[ColumnElement[bool]]:
    """The submissions of a phase of the challenge a board may rank, as SQL conditions: scored with a
    public score, not disqualified, within the board's rules."""
    return [
        col(Submission.challenge_id) == challenge_id,
        col(Submission.phase) == phase,
        col(Submission.status) == Status.SCORED,
        col(Submission.public_score).is_not(None),
        col(Submission.id).not_in(disqualified_submissions(challenge_id)),
        *allowed_by(rules),
    ]


async def recompute_best(
    session: AsyncSession, challenge_id: int, phase: str, team_id: int | None, spec: ChallengeSpec
) -> None:
    """Rewrite the best of one team (or of every team: None) in a phase from its scored, not
    disqualified submissions within the board's rules, in one statement; `spec`: the phase's. The
    caller commits."""
    score = col(Submission.public_score)
    order = score.desc() if spec.primary_metric.higher_is_better else score.asc()
    ranked = select(
        col(Submission.team_id),
        col(Submission.id),
        score,
        col(Submission.created_at),
        func.row_number()
        .over(
            partition_by=col(Submission.team_id),
            order_by=(order, col(Submission.created_at), col(Submission.id)),
        )
        .label("n"),
    ).where(*rankable(challenge_id, phase, spec.board_rules))
    stale = delete(TeamBest).where(col(TeamBest.challenge_id) == challenge_id, col(TeamBest.phase) == phase)
    if team_id is not None:
        ranked = ranked.where(Submission.team_id == team_id)
        stale = stale.where(col(TeamBest.team_id) == team_id)
    best = ranked.subquery()
    await session.exec(stale)
    await session.exec(
        insert(TeamBest).from_select(
            ["team_id", "phase", "challenge_id", "submission_id", "public_score", "created_at"],
            select(
                best.c.team_id,
                literal(phase),
                literal(challenge_id),
                best.c.id,
                best.c.public_score,
                best.c.created_at,
            ).where(best.c.n == 1),
        )
    )


async def recompute_team(session: AsyncSession, challenge_id: int, team_id: int, spec: ChallengeSpec) -> None:
    """Rewrite a team's best in every phase of the challenge (a submission of it disqualified or
    reinstated); the caller commits."""
    for phase in spec.phase_keys:
        await recompute_best(session, challenge_id, phase, team_id, spec.phase_spec(phase))


async def rebuild_all(session: AsyncSession, challenge_id: int, spec: ChallengeSpec) -> None:
    """Rewrite every team's best in every phase of the challenge from its submissions: repairs what a
    faulty write left (`riality challenge rebuild-bests`); the caller commits."""
    for phase in spec.phase_keys:
        await recompute_best(session, challenge_id, phase, None, spec.phase_spec(phase))


async def rules_changed(
    session: AsyncSession, challenge_id: int, before: ChallengeSpec, after: ChallengeSpec
) -> None:
    """A challenge's spec changed: where a phase's board rules did, every team's best in it may have
    (the caller commits)."""
    for phase in after.phase_keys:
        rules = after.phase_spec(phase).board_rules
        if phase not in before.phase_keys or before.phase_spec(phase).board_rules != rules:
            await recompute_best(session, challenge_id, phase, None, after.phase_spec(phase))
