"""Teams of a challenge: create, join with an invite code, leave, and read my own."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.deps import SUBMIT, announce_board_change
from server.api.openapi import errors
from server.api.schemas import JoinIn, StaffTeamOut, TeamIn, TeamOut
from server.api.staff import staff_challenge
from server.services import challenges, disqualifications, teams
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

    @post("/teams", opt=SUBMIT, status_code=201, responses=errors(400, 401, 404, 409))
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[TeamIn],
    ) -> TeamOut:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        return _team_out(await teams.create_team(db_session, current_user, challenge, data.name))

    @post("/teams/join", opt=SUBMIT, status_code=200, responses=errors(400, 401, 404, 409))
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
        view = await teams.my_team(db_session, current_user, challenge)
        out = _team_out(view)
        assert challenge.id is not None and view.team.id is not None
        out.disqualified = (await disqualifications.reasons(db_session, challenge.id)).of_team(view.team.id)
        return out

    @delete("/team/members/me", opt=SUBMIT, status_code=204, responses=errors(401, 404))
    async def leave(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> None:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        member = await teams.membership(db_session, current_user, challenge.id)
        await teams.leave_team(db_session, current_user, challenge)
        if member is not None:  # a team left without members leaves the boards
            await announce_board_change(state, slug, member.team_id)

    @get("/teams", responses=errors(401, 404))
    async def list_teams(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[StaffTeamOut]:
        """Every team with its members (the challenge's staff)."""
        challenge = await staff_challenge(db_session, current_user, slug)
        assert challenge.id is not None
        reasons = await disqualifications.reasons(db_session, challenge.id)
        return [
            StaffTeamOut(team.id or 0, team.name, members, team.submissions, reasons.of_team(team.id or 0))
            for team, members in await teams.challenge_teams(db_session, challenge.id)
        ]
