"""Teams: one team per user per challenge, joined with an invite code only members can see."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.challenges import spec_of
from core.locks import lock_team
from core.models import MAX_ROW_ID, Challenge, Member, Team, User
from server.errors import BadRequest, Conflict, NotFound
from server.services.accounts import Viewer

MAX_NAME = 80


class NameTaken(Conflict):
    """Another team of the challenge has this name."""


class AlreadyInTeam(Conflict):
    """The user is in a team of the challenge already (perhaps made by a concurrent request)."""


@dataclass(frozen=True, slots=True)
class TeamView:
    team: Team
    members: list[str]


async def membership(session: AsyncSession, viewer: Viewer, challenge_id: int | None) -> Member | None:
    return (
        await session.exec(
            select(Member).where(Member.challenge_id == challenge_id, Member.user_id == viewer.id)
        )
    ).first()


async def _members(session: AsyncSession, team_id: int) -> list[str]:
    rows = await session.exec(
        select(User.username)
        .join(Member, Member.user_id == User.id)
        .where(Member.team_id == team_id)
        .order_by(Member.joined_at)  # type: ignore[arg-type]
    )
    return list(rows)


# What JSON Schema's (ECMAScript's) \s matches, so the published pattern and this check agree.
_SPACES = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


CONTROL = re.compile("[\x00-\x1f\x7f]")
INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # what secrets.token_urlsafe made before, too
# Letters and digits only: a code that starts with "-" reads as an option on a command line.
INVITE_ALPHABET = string.ascii_letters + string.digits
INVITE_LENGTH = 16  # 95 bits


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def _clean_name(name: str) -> str:
    if CONTROL.search(name):
        raise BadRequest("name: control characters (tabs, line breaks, NUL …) are not allowed")
    name = _SPACES.sub(" ", name).strip(" ")
    if not 1 <= len(name) <= MAX_NAME:
        raise BadRequest(f"name: expected 1 to {MAX_NAME} characters")
    return name


async def _insert_team(
    session: AsyncSession, viewer: Viewer, challenge_id: int, slug: str, name: str
) -> Team:
    """Insert a team with the viewer as its first member; ids and slug come as values, since the
    rollback on a clash expires every loaded object (reading one then raises MissingGreenlet)."""
    team = Team(challenge_id=challenge_id, name=name, invite_code=new_invite_code())
    session.add(team)
    try:
        await session.flush()
        assert team.id is not None
        session.add(Member(team_id=team.id, user_id=viewer.id, challenge_id=challenge_id))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if await membership(session, viewer, challenge_id):
            raise AlreadyInTeam(f"you are already in a team for {slug!r}; leave it first") from None
        raise NameTaken(f"a team named {name!r} already exists in {slug!r}") from None
    return team


async def create_team(session: AsyncSession, viewer: Viewer, challenge: Challenge, name: str) -> TeamView:
    challenge_id = challenge.id  # read once: a rollback expires loaded objects
    if await membership(session, viewer, challenge_id):
        raise Conflict(f"you are already in a team for {challenge.slug!r}; leave it first")
    assert challenge_id is not None
    team = await _insert_team(session, viewer, challenge_id, challenge.slug, _clean_name(name))
    return TeamView(team=team, members=[viewer.username])


async def join_team(
    session: AsyncSession, viewer: Viewer, challenge: Challenge, invite_code: str
) -> TeamView:
    challenge_id = challenge.id  # read once: a rollback expires loaded objects
    team = None
    if INVITE_CODE.match(invite_code):
        team = (
            await session.exec(
                select(Team).where(Team.challenge_id == challenge.id, Team.invite_code == invite_code)
            )
        ).first()
    if team is None:
        raise NotFound(f"no team in {challenge.slug!r} has this invite code")
    assert team.id is not None and challenge.id is not None
    team_id, team_name, slug = team.id, team.name, challenge.slug  # a rollback expires loaded objects
    if await membership(session, viewer, challenge_id):
        raise Conflict(f"you are already in a team for {challenge.slug!r}; leave it first")
    limit = spec_of(challenge).limits.team_size
    await lock_team(session, team_id)
    count = select(func.count()).select_from(Member).where(Member.team_id == team_id)
    if (await session.exec(count)).one() >= limit:
        await session.rollback()
        raise Conflict(f"team {team_name!r} is full ({limit} members at most)")
    session.add(Member(team_id=team_id, user_id=viewer.id, challenge_id=challenge_id))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"you are already in a team for {slug!r}; leave it first") from None
    return TeamView(team=team, members=await _members(session, team_id))


async def leave_team(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> None:
    """Leave your team. The team and its submissions stay; once it has no members it leaves the boards."""
    challenge_id = challenge.id  # read once: a rollback expires loaded objects
    member = await membership(session, viewer, challenge_id)
    if member is None:
        raise NotFound(f"you are not in a team for {challenge.slug!r}")
    await session.delete(member)
    await session.commit()


async def my_team(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> TeamView:
    challenge_id = challenge.id  # read once: a rollback expires loaded objects
    member = await membership(session, viewer, challenge_id)
    if member is None:
        raise NotFound(f"you are not in a team for {challenge.slug!r}")
    team = await session.get(Team, member.team_id)
    assert team is not None
    return TeamView(team=team, members=await _members(session, member.team_id))


def _solo_names(username: str) -> Iterator[str]:
    """The username, then a few numbered variants, then random ones: squatting them all is not possible."""
    yield username
    yield from (f"{username} ({i})" for i in range(2, 10))
    while True:
        yield f"{username} ({secrets.token_hex(3)})"


async def team_for_submission(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> Team:
    """The viewer's team; a solo participant's first submission creates a one-person team."""
    challenge_id, slug = challenge.id, challenge.slug  # read once: a rollback expires loaded objects
    assert challenge_id is not None
    for attempt, name in enumerate(_solo_names(viewer.username)):
        team = (
            await session.exec(
                select(Team)
                .join(Member, col(Member.team_id) == Team.id)
                .where(Member.challenge_id == challenge_id, Member.user_id == viewer.id)
            )
        ).first()
        if team is not None:  # already in a team, or a concurrent request created one
            return team
        if attempt >= 20:
            break
        try:
            return await _insert_team(session, viewer, challenge_id, slug, name)
        except (NameTaken, AlreadyInTeam):  # the latter: a concurrent upload made it; found above
            continue
    raise Conflict(f"could not find a free team name in {slug!r}; create a team first")


async def members_by_team(session: AsyncSession, challenge_id: int) -> dict[int, list[str]]:
    rows = await session.exec(
        select(Member.team_id, User.username)
        .join(User, col(User.id) == Member.user_id)
        .where(Member.challenge_id == challenge_id)
        .order_by(col(Member.id))
    )
    members: dict[int, list[str]] = {}
    for team_id, name in rows:
        members.setdefault(team_id, []).append(name)
    return members


async def challenge_teams(session: AsyncSession, challenge_id: int) -> list[tuple[Team, list[str]]]:
    """Every team of the challenge with its members, for its staff."""
    members = await members_by_team(session, challenge_id)
    rows = await session.exec(select(Team).where(Team.challenge_id == challenge_id).order_by(col(Team.id)))
    return [(team, members.get(team.id or 0, [])) for team in rows]


async def challenge_team(
    session: AsyncSession, challenge: Challenge, team_id: int, *, field: str = ""
) -> Team:
    """A team of this challenge by its id; another challenge's team is not found here. `field`: the
    request field that named it, for the message."""
    team = await session.get(Team, team_id) if 0 < team_id <= MAX_ROW_ID else None
    if team is None or team.challenge_id != challenge.id:
        prefix = f"{field}: " if field else ""
        raise NotFound(f"{prefix}no team {team_id} in {challenge.slug!r}")
    return team
