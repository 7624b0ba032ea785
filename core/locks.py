"""Row locks that both processes take: the API around a team's quota, the worker around its cap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Team


async def lock_team(session: AsyncSession, team_id: int, **also: Any) -> None:
    """Take the team's row lock for the rest of the transaction (a write lock on SQLite).

    Every change that must see a consistent team (joining, the quota check, starting a sandbox run
    under the team's cap) starts with this, so concurrent ones for one team run one after the other.
    `also`: other columns of the team to set in the same statement (one round trip, not two).
    """
    await session.exec(
        update(Team)  # type: ignore[call-overload]
        .where(col(Team.id) == team_id)
        .values(submission_seq=col(Team.submission_seq) + 1, **also)
    )
