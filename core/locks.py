"""Row locks that both processes take: the API around a team's quota, the worker around its cap."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Team


async def lock_team(session: AsyncSession, team_id: int) -> None:
    """Take the team's row lock for the rest of the transaction (a write lock on SQLite).

    Every change that must see a consistent team (joining, the quota check, starting a sandbox run
    under the team's cap) starts with this, so concurrent ones for one team run one after the other.
    """
    await session.exec(update(Team).where(Team.id == team_id).values(submission_seq=Team.submission_seq + 1))  # type: ignore[call-overload, arg-type]
