"""Receipts for submissions, and the submission record as the API serves it (core.chain, core.receipts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.challenges import spec_of
from core.lifecycle import state_of
from core.models import Challenge, ChallengeState, Submission, Team
from core.receipts import ReceiptKey, make_receipt
from server.errors import NotFound
from server.services.accounts import Viewer
from server.services.chain import chain_entries, chain_head, record_of
from server.services.staff import access_to
from server.services.submissions import get_submission


async def receipt_of(session: AsyncSession, key: ReceiptKey, submission: Submission) -> dict[str, Any]:
    """The signed record of a submission as its row says now (at upload: as it was accepted)."""
    challenge = await session.get(Challenge, submission.challenge_id)
    team = await session.get(Team, submission.team_id)
    assert challenge is not None and team is not None
    if submission.chain_seq is None:
        raise NotFound(f"submission {submission.id} is not in its challenge's record")
    return make_receipt(key, record_of(challenge.slug, submission), team.name)


async def receipt(
    session: AsyncSession, key: ReceiptKey, viewer: Viewer, submission_id: int
) -> dict[str, Any]:
    """Its team's, and the staff's of its challenge."""
    return await receipt_of(session, key, await get_submission(session, viewer, submission_id))


async def record(
    session: AsyncSession, viewer: Viewer | None, challenge: Challenge, now: datetime
) -> tuple[int, str, list[dict[str, Any]]]:
    """The challenge's submission record: its staff's at any time, everyone's once the private board
    is revealed (before, the times and teams of every upload are the staff's to see)."""
    revealed = state_of(challenge, spec_of(challenge), now) is ChallengeState.REVEALED
    if not revealed and not (await access_to(session, viewer, challenge.id)).is_staff:
        raise NotFound(f"challenge {challenge.slug!r}: its record of submissions is public after the reveal")
    assert challenge.id is not None
    length, head = await chain_head(session, challenge.id)
    return length, head, await chain_entries(session, challenge)
