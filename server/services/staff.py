"""Who runs and reviews a challenge: its staff list, and what a viewer may do on one challenge.

A user is staff of a challenge by its staff list only (admins are staff everywhere); being an
organiser or judge of one challenge gives nothing on another, where its hidden parts are 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, ChallengeStaff, Role, StaffRole, User
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.services import audit
from server.services.accounts import Viewer, find_user


@dataclass(frozen=True, slots=True)
class Access:
    """What the viewer is on one challenge: None for a participant or an anonymous visitor."""

    staff: StaffRole | None

    @property
    def is_staff(self) -> bool:
        return self.staff is not None

    @property
    def organiser(self) -> bool:
        return self.staff is StaffRole.ORGANISER


NOBODY = Access(None)
# The operator at the server's shell (`riality staff ...`): an admin, named so in the audit log.
OPERATOR = Viewer(id=0, username="operator", role=Role.ADMIN)


async def access_to(session: AsyncSession, viewer: Viewer | None, challenge_id: int | None) -> Access:
    if viewer is None or challenge_id is None:
        return NOBODY
    if viewer.role is Role.ADMIN:
        return Access(StaffRole.ORGANISER)
    row = await _staff_row(session, challenge_id, viewer.id)
    return Access(StaffRole(row.role) if row else None)


async def _staff_row(
    session: AsyncSession, challenge_id: int | None, user_id: int | None
) -> ChallengeStaff | None:
    query = select(ChallengeStaff).where(
        ChallengeStaff.challenge_id == challenge_id, ChallengeStaff.user_id == user_id
    )
    return (await session.exec(query)).first()


async def require_staff(
    session: AsyncSession, viewer: Viewer | None, challenge: Challenge, *, organiser: bool = False
) -> Access:
    """The viewer's access if they are staff (an organiser, if asked); else 404 to outsiders (the
    staff side of a challenge is not theirs to know of) and 403 to a judge doing an organiser's work."""
    access = await access_to(session, viewer, challenge.id)
    if not access.is_staff:
        raise NotFound(f"challenge {challenge.slug!r}: this is for its organisers and judges only")
    if organiser and not access.organiser:
        raise Forbidden(f"challenge {challenge.slug!r}: only its organisers may do this; you are a judge")
    return access


@dataclass(frozen=True, slots=True)
class StaffMember:
    username: str
    role: StaffRole
    added_at: datetime


async def list_staff(session: AsyncSession, challenge: Challenge) -> list[StaffMember]:
    rows = await session.exec(
        select(User.username, ChallengeStaff.role, ChallengeStaff.added_at)
        .join(User, col(User.id) == ChallengeStaff.user_id)
        .where(ChallengeStaff.challenge_id == challenge.id)
        .order_by(col(ChallengeStaff.id))
    )
    return [StaffMember(name, StaffRole(role), added) for name, role, added in rows]


async def staff_user_ids(session: AsyncSession, challenge_id: int) -> set[int]:
    rows = await session.exec(
        select(ChallengeStaff.user_id).where(ChallengeStaff.challenge_id == challenge_id)
    )
    return set(rows)


async def _user(session: AsyncSession, username: str) -> User:
    user = await find_user(session, username)
    if user is None:
        raise BadRequest(f"username: no user {username[:40]!r}; they must register first")
    return user


async def set_staff(
    session: AsyncSession, actor: Viewer, challenge: Challenge, username: str, role: StaffRole
) -> StaffMember:
    """Add a staff member, or change their role; the caller has checked the actor is an organiser."""
    assert challenge.id is not None
    user = await _user(session, username)
    row = await _staff_row(session, challenge.id, user.id)
    before = {"role": row.role} if row else None
    if row is None:
        assert user.id is not None
        row = ChallengeStaff(challenge_id=challenge.id, user_id=user.id, role=role)
    row.role = role
    session.add(row)
    audit.record(session, actor, challenge, "staff.set", user.username, before, {"role": role.value})
    try:
        await session.commit()
    except IntegrityError:  # the same user added twice at once: the other request won
        await session.rollback()
        raise Conflict(f"username: {username!r} was being added at the same time; try again") from None
    return StaffMember(user.username, role, row.added_at)


async def remove_staff(session: AsyncSession, actor: Viewer, challenge: Challenge, username: str) -> None:
    user = await _user(session, username)
    row = await _staff_row(session, challenge.id, user.id)
    if row is None:
        raise NotFound(f"{user.username!r} is not on the staff of {challenge.slug!r}")
    if row.role == StaffRole.ORGANISER:
        organisers = [m for m in await list_staff(session, challenge) if m.role is StaffRole.ORGANISER]
        if len(organisers) == 1:
            raise Conflict(
                f"{user.username!r} is the last organiser of {challenge.slug!r}; add another first"
            )
    await session.delete(row)
    audit.record(session, actor, challenge, "staff.remove", user.username, {"role": row.role}, None)
    await session.commit()
