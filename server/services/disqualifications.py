"""Disqualifying a team (off both boards) or one submission (no longer its team's best), and lifting it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.best import recompute_team
from core.challenges import spec_of
from core.models import MAX_ROW_ID, Challenge, Disqualification
from server.errors import BadRequest, Conflict, NotFound
from server.services import audit
from server.services.accounts import Viewer
from server.services.submissions import find_submission
from server.services.teams import challenge_team

MAX_REASON = 1000


@dataclass(frozen=True, slots=True)
class Target:
    team_id: int | None = None
    submission_id: int | None = None


async def _team_of(session: AsyncSession, challenge: Challenge, target: Target) -> int:
    """The team the target is or belongs to, in this challenge (else 404: another's is not found)."""
    if (target.team_id is None) == (target.submission_id is None):
        raise BadRequest("give exactly one of team_id and submission_id")
    if target.submission_id is not None:
        submission = await find_submission(session, target.submission_id)
        if submission is None or submission.challenge_id != challenge.id:
            raise NotFound(f"submission_id: no submission {target.submission_id} in {challenge.slug!r}")
        return submission.team_id
    assert target.team_id is not None
    team = await challenge_team(session, challenge, target.team_id, field="team_id")
    assert team.id is not None
    return team.id


def _target_name(row: Disqualification) -> str:
    return f"team {row.team_id}" if row.team_id is not None else f"submission {row.submission_id}"


async def disqualify(
    session: AsyncSession, viewer: Viewer, challenge: Challenge, target: Target, reason: str
) -> tuple[Disqualification, int]:
    """The disqualification and the team whose board entry it changes."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise BadRequest(f"reason: expected 1 to {MAX_REASON} characters, shown to the team")
    team_id = await _team_of(session, challenge, target)
    existing = select(Disqualification.id).where(Disqualification.challenge_id == challenge.id)
    existing = existing.where(
        Disqualification.team_id == target.team_id
        if target.team_id is not None
        else Disqualification.submission_id == target.submission_id
    )
    if (await session.exec(existing)).first() is not None:
        raise Conflict(
            f"{'team' if target.team_id else 'submission'} is already disqualified; lift that one first"
        )
    assert challenge.id is not None
    row = Disqualification(
        challenge_id=challenge.id,
        team_id=target.team_id,
        submission_id=target.submission_id,
        reason=reason,
        created_by=viewer.id,
    )
    session.add(row)
    await session.flush()
    if target.submission_id is not None:
        await recompute_team(session, challenge.id, team_id, spec_of(challenge))
    audit.record(session, viewer, challenge, "disqualify", _target_name(row), None, {"reason": reason})
    await session.commit()
    return row, team_id


async def lift(session: AsyncSession, viewer: Viewer, challenge: Challenge, disqualification_id: int) -> int:
    """Remove a disqualification; the team whose board entry it changes."""
    row = (
        await session.get(Disqualification, disqualification_id)
        if 0 < disqualification_id <= MAX_ROW_ID
        else None
    )
    if row is None or row.challenge_id != challenge.id:
        raise NotFound(f"no disqualification {disqualification_id} in {challenge.slug!r}")
    team_id = await _team_of(session, challenge, Target(row.team_id, row.submission_id))
    audit.record(
        session, viewer, challenge, "disqualify.lift", _target_name(row), {"reason": row.reason}, None
    )
    await session.delete(row)
    await session.flush()
    if row.submission_id is not None:
        assert challenge.id is not None
        await recompute_team(session, challenge.id, team_id, spec_of(challenge))
    await session.commit()
    return team_id


async def list_disqualifications(session: AsyncSession, challenge: Challenge) -> list[Disqualification]:
    rows = await session.exec(
        select(Disqualification)
        .where(Disqualification.challenge_id == challenge.id)
        .order_by(col(Disqualification.id))
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Reasons:
    """A challenge's disqualification reasons, read once for a whole page of teams or submissions."""

    teams: dict[int, str]
    submissions: dict[int, str]

    def of_team(self, team_id: int) -> str | None:
        return self.teams.get(team_id)

    def of_submission(self, submission_id: int, team_id: int) -> str | None:
        """Its own, or its team's: either way the team is told why."""
        return self.teams.get(team_id) or self.submissions.get(submission_id)


async def reasons(session: AsyncSession, challenge_id: int) -> Reasons:
    rows = await session.exec(
        select(Disqualification.team_id, Disqualification.submission_id, Disqualification.reason).where(
            Disqualification.challenge_id == challenge_id
        )
    )
    teams, submissions = {}, {}
    for team_id, submission_id, reason in rows:
        if team_id is not None:
            teams[team_id] = reason
        elif submission_id is not None:
            submissions[submission_id] = reason
    return Reasons(teams, submissions)
