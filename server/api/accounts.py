"""Registration, sign-in and the current user."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.schemas import RegisterIn, TokenIn, TokenOut, UserOut
from server.services import accounts
from server.services.accounts import Viewer


def _user_out(viewer: Viewer) -> UserOut:
    return UserOut(id=viewer.id, username=viewer.username, role=viewer.role.value)


class AccountController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/register", status_code=201)
    async def register(
        self, db_session: NamedDependency[AsyncSession], data: JSONBody[RegisterIn]
    ) -> UserOut:
        viewer = await accounts.create_user(
            db_session, username=data.username, password=data.password, email=data.email
        )
        return _user_out(viewer)

    @post("/auth/token", status_code=200)
    async def token(
        self, db_session: NamedDependency[AsyncSession], state: State, data: JSONBody[TokenIn]
    ) -> TokenOut:
        ttl = timedelta(hours=state.settings.token_ttl_hours)
        token = await accounts.issue_token(
            db_session, username=data.username, password=data.password, ttl=ttl
        )
        return TokenOut(access_token=token)

    @get("/me")
    async def me(self, current_user: NamedDependency[Viewer]) -> UserOut:
        return _user_out(current_user)
