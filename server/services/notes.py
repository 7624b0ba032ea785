"""Staff notes on a team or a submission: the challenge's staff read and write them, participants never."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, StaffNote
from server.errors import BadRequest
from server.services import audit
from server.services.accounts import Viewer

MAX_NOTE = 5000


async def add_note(
    session: AsyncSession,
    viewer: Viewer,
    challenge: Challenge,
    text: str,
    *,
    team_id: int | None = None,
    submission_id: int | None = None,
) -> StaffNote:
    """The caller has checked the viewer is staff and the team or submission belongs to the challenge."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE or "\x00" in text:
        raise BadRequest(f"text: expected 1 to {MAX_NOTE} characters")
    assert challenge.id is not None
    note = StaffNote(
        challenge_id=challenge.id,
        team_id=team_id,
        submission_id=submission_id,
        author_id=viewer.id,
        author=viewer.username,
        text=text,
    )
    session.add(note)
    target = f"team {team_id}" if team_id is not None else f"submission {submission_id}"
    audit.record(session, viewer, challenge, "note", target, None, {"text": text[:500]})
    await session.commit()
    return note


async def notes(
    session: AsyncSession,
    challenge: Challenge,
    *,
    team_id: int | None = None,
    submission_id: int | None = None,
) -> list[StaffNote]:
    query = select(StaffNote).where(StaffNote.challenge_id == challenge.id)
    query = query.where(
        StaffNote.team_id == team_id if team_id is not None else StaffNote.submission_id == submission_id
    )
    return list(await session.exec(query.order_by(col(StaffNote.id))))
