"""The audit log: every staff action on a challenge, appended in the action's own transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import AuditEvent, Challenge
from server.services.accounts import Viewer


def record(
    session: AsyncSession,
    actor: Viewer | None,
    challenge: Challenge,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add the event to the session: it is committed with the action, or not at all."""
    assert challenge.id is not None
    session.add(
        AuditEvent(
            challenge_id=challenge.id,
            challenge_slug=challenge.slug,
            actor_id=actor.id if actor and actor.id else None,
            actor=actor.username if actor else "operator",
            action=action,
            target=target[:200],
            before=before,
            after=after,
        )
    )


async def events(
    session: AsyncSession, challenge: Challenge, *, before_id: int | None = None, limit: int = 200
) -> list[AuditEvent]:
    """The newest events first, a page at a time (`before_id`: the last id of the previous page).

    Only those since the challenge was created: SQLite may give a deleted challenge's id to a new
    one, and the old one's trail (another firm's, perhaps) must not show up in the new one's log.
    """
    query = select(AuditEvent).where(
        AuditEvent.challenge_id == challenge.id, col(AuditEvent.at) >= challenge.created_at
    )
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    return list(await session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)))
