"""A challenge's staff list and its audit log (the challenge's staff only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, StaffRole
from server.api.openapi import OlderThan, errors
from server.api.schemas import AuditOut, StaffIn, StaffOut
from server.services import audit, challenges, staff
from server.services.accounts import Viewer


async def staff_challenge(
    session: AsyncSession, viewer: Viewer, slug: str, *, organiser: bool = False
) -> Challenge:
    """The challenge, if the viewer is its staff (an organiser, if asked); else 404 (or 403 to a judge)."""
    challenge = await challenges.get_challenge(session, slug, viewer)
    await staff.require_staff(session, viewer, challenge, organiser=organiser)
    return challenge


class StaffController(Controller):
    path = "/api/challenges/{slug:str}"
    tags = ["staff"]

    @get("/staff", responses=errors(401, 404))
    async def list_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[StaffOut]:
        challenge = await staff_challenge(db_session, current_user, slug)
        return [
            StaffOut(m.username, m.role.value, m.added_at)
            for m in await staff.list_staff(db_session, challenge)
        ]

    @post("/staff", status_code=200, responses=errors(400, 401, 403, 404, 409))
    async def set_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[StaffIn],
    ) -> StaffOut:
        """Add a registered user as organiser or judge of this challenge, or change their role (organisers)."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        member = await staff.set_staff(
            db_session, current_user, challenge, data.username, StaffRole(data.role)
        )
        return StaffOut(member.username, member.role.value, member.added_at)

    @delete("/staff/{username:str}", status_code=204, responses=errors(400, 401, 403, 404, 409))
    async def remove_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        username: FromPath[str],
    ) -> None:
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        await staff.remove_staff(db_session, current_user, challenge, username)

    @get("/audit", responses=errors(400, 401, 404))
    async def audit_log(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        before: OlderThan = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[AuditOut]:
        """Every staff action on this challenge, newest first."""
        challenge = await staff_challenge(db_session, current_user, slug)
        rows = await audit.events(db_session, challenge, before_id=before, limit=limit)
        return [
            AuditOut(
                id=e.id or 0,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                before=e.before,
                after=e.after,
            )
            for e in rows
        ]
