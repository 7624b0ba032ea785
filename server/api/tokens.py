"""Personal API tokens, for scripts and the participants' command line."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.openapi import errors
from server.api.schemas import ApiTokenCreated, ApiTokenIn, ApiTokenOut
from server.services import tokens
from server.services.accounts import Viewer


def token_out(info: tokens.TokenInfo) -> ApiTokenOut:
    return ApiTokenOut(info.id, info.name, info.scope, info.created_at, info.expires_at, info.last_used_at)


class TokenController(Controller):
    path = "/api/me/tokens"
    tags = ["accounts"]

    @post("/", status_code=201, responses=errors(400, 401, 403, 409))
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        data: JSONBody[ApiTokenIn],
    ) -> ApiTokenCreated:
        """A named token for scripts: `read` (safe requests only) or `submit` (also uploads, teams,
        cancelling and final selections), until `expires_at` or revoked. Its secret is shown once."""
        info, secret = await tokens.create_token(
            db_session, current_user, name=data.name, scope=data.scope, expires_at=data.expires_at
        )
        return ApiTokenCreated(info.id, info.name, info.scope, info.created_at, info.expires_at, secret)

    @get("/", responses=errors(401, 403))
    async def list_tokens(
        self, db_session: NamedDependency[AsyncSession], current_user: NamedDependency[Viewer]
    ) -> list[ApiTokenOut]:
        """Your API tokens, newest first, with their last use (never their secrets)."""
        return [token_out(info) for info in await tokens.list_tokens(db_session, current_user)]

    @delete("/{token_id:int}", status_code=204, responses=errors(401, 403, 404))
    async def revoke(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        token_id: FromPath[int],
    ) -> None:
        """Revoke one of your tokens: it stops working at once."""
        await tokens.revoke_token(db_session, current_user, token_id)
