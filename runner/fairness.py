"""The per-team cap on sandbox runs: one team's flood of model or code submissions holds at most a
few sandbox slots of the whole deployment at once, whatever the number of workers; the rest wait
(runner.jobs puts them back in their lane a little later, and round-robin does the rest)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.locks import lock_team
from core.models import Status, Submission
from runner.claims import claim, is_claimable

WAIT_S = 2.0  # before a capped submission is looked at again


class TeamAtCapacity(Exception):
    """The submission's team already has its cap of sandbox runs going; not a failure."""

    def __init__(self, submission_id: int, lane: str, running: int) -> None:
        super().__init__(f"submission {submission_id}: its team has {running} sandbox run(s) going")
        self.submission_id = submission_id
        self.lane = lane


def _runs_of_team(team_id: int, besides: int) -> ColumnElement[int]:
    """How many of the team's model/code submissions run now, other than `besides` (a subquery)."""
    other = aliased(Submission)
    return (
        select(func.count())
        .select_from(other)
        .where(
            col(other.team_id) == team_id,
            col(other.status) == Status.RUNNING,
            col(other.kind) != "predictions",
            col(other.id) != besides,
        )
        .scalar_subquery()
    )


async def claim_under_cap(
    session: AsyncSession, submission_id: int, team_id: int, cap: int, stale_after: timedelta, lane: str
) -> bool:
    """Claim a model/code submission unless its team already has `cap` sandbox runs going: under the
    team's row lock, so concurrent claims for one team, from any worker, take turns and the cap
    holds exactly. TeamAtCapacity when capped; False when it was finished or claimed already."""
    await lock_team(session, team_id)
    if await claim(session, submission_id, stale_after, only_if=_runs_of_team(team_id, submission_id) < cap):
        return True
    if await is_claimable(session, submission_id, stale_after):
        raise TeamAtCapacity(submission_id, lane, cap)
    return False
