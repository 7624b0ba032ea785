"""Registration, sign-in and the current user."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from core.challenges import spec_of
from core.models import Role
from server.api.challenges import summary_fields
from server.api.deps import bearer_token, client_address
from server.api.openapi import errors
from server.api.schemas import (
    PasswordChangeIn,
    RegisterIn,
    RoleIn,
    StaffChallengeOut,
    TokenIn,
    TokenOut,
    UserOut,
)
from server.services import accounts, challenges
from server.services.accounts import Viewer


def _user_out(viewer: Viewer) -> UserOut:
    return UserOut(id=viewer.id, username=viewer.username, role=viewer.role.value)


class AccountController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/register", status_code=201, responses=errors(400, 409, 429, 503))
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        request: Request,
        data: JSONBody[RegisterIn],
    ) -> UserOut:
        viewer = await accounts.register(
            db_session,
            state.sign_in,
            client_address(request),
            username=data.username,
            password=data.password,
            email=data.email,
        )
        return _user_out(viewer)

    @post("/auth/token", status_code=200, responses=errors(400, 401, 429, 503))
    async def token(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        request: Request,
        data: JSONBody[TokenIn],
    ) -> TokenOut:
        ttl = timedelta(hours=state.settings.token_ttl_hours)
        token = await accounts.issue_token(
            db_session,
            state.sign_in,
            client_address(request),
            username=data.username,
            password=data.password,
            ttl=ttl,
        )
        return TokenOut(access_token=token)

    @post("/auth/logout", status_code=204, responses=errors(401))
    async def logout(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        current_user: NamedDependency[Viewer],
    ) -> None:
        """Revoke the token this request carries; other sessions of the user stay signed in."""
        token = bearer_token(request)
        assert token is not None  # current_user required one
        await accounts.revoke_token(db_session, token)

    @post("/me/password", status_code=204, responses=errors(400, 401, 429, 503))
    async def change_password(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        data: JSONBody[PasswordChangeIn],
    ) -> None:
        """Change your password; every token of yours stops working, this one included: sign in again."""
        await accounts.change_password(
            db_session, state.sign_in, current_user, current=data.current_password, new=data.new_password
        )

    @get("/me", responses=errors(401))
    async def me(self, current_user: NamedDependency[Viewer]) -> UserOut:
        return _user_out(current_user)

    @put("/users/{username:str}/role", status_code=200, responses=errors(400, 401, 403, 404, 409))
    async def set_role(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        username: FromPath[str],
        data: JSONBody[RoleIn],
    ) -> UserOut:
        """Grant a platform role (admins): `organiser` may create challenges; `admin` is staff of all."""
        return _user_out(await accounts.set_role(db_session, current_user, username, Role(data.role)))

    @get("/me/challenges", responses=errors(401))
    async def my_challenges(
        self, db_session: NamedDependency[AsyncSession], current_user: NamedDependency[Viewer]
    ) -> list[StaffChallengeOut]:
        """The challenges you run or judge, drafts included, with your role on each."""
        return [
            StaffChallengeOut(**summary_fields(c, spec_of(c)), staff_role=role.value)  # type: ignore[arg-type]
            for c, role in await challenges.staff_challenges(db_session, current_user)
        ]
