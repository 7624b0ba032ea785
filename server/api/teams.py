"""Teams of a challenge: create, join with an invite code, leave, and read my own."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.openapi import errors
from server.api.schemas import JoinIn, TeamIn, TeamOut
from server.services import challenges, teams
from server.services.accounts import Viewer
from server.services.teams import TeamView


def _team_out(view: TeamView) -> TeamOut:
    assert view.team.id is not None
    return TeamOut(
        id=view.team.id, name=view.team.name, invite_code=view.team.invite_code, members=view.members
    )


class TeamController(Controller):
    path = "/api/challenges/{slug:str}"
    tags = ["teams"]

    @post("/teams", status_code=201, responses=errors(400, 401, 404, 409))
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[TeamIn],
    ) -> TeamOut:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        return _team_out(await teams.create_team(db_session, current_user, challenge, data.name))

    @post("/teams/join", status_code=200, responses=errors(400, 401, 404, 409))
    async def join(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[JoinIn],
    ) -> TeamOut:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        return _team_out(await teams.join_team(db_session, current_user, challenge, data.invite_code.strip()))

    @get("/team", responses=errors(401, 404))
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> TeamOut:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        return _team_out(await teams.my_team(db_session, current_user, challenge))

    @delete("/team/members/me", status_code=204, responses=errors(401, 404))
    async def leave(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> None:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        await teams.leave_team(db_session, current_user, challenge)
