"""Dependencies shared by the controllers: the database session and who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import TokenScope
from server.errors import Forbidden, Unauthenticated
from server.services.accounts import Viewer, viewer_for_token


async def announce_board_change(state: State, slug: str, team_id: int | None = None) -> None:
    """A board changed through the API: this process's caches at once, the others' through Redis."""
    state.hub.changed(slug, team_id)
    await state.queue.publish_board_changed(slug, team_id)
    # Who is on the board, and so who is tied with whom, may have changed: a pass will say (runner.uncertainty).
    await state.queue.enqueue_uncertainty(slug, state.settings.uncertainty_period_s)


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


def bearer_token(connection: ASGIConnection) -> str | None:
    """The bearer token the request carries, None without an Authorization header."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header: expected 'Bearer <token>'")
    return token.strip()


def client_address(request: Request) -> str:
    """Who is asking, for attempt limits: the peer (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


async def provide_viewer(request: Request, db_session: NamedDependency[AsyncSession]) -> Viewer | None:
    return await viewer_of(request, db_session)


async def viewer_of(connection: ASGIConnection, session: AsyncSession) -> Viewer | None:
    """The signed-in user, or None for an anonymous visitor; a bad token is an error, not anonymity.
    Looked up once per request: a guard that needed it leaves it for the handler."""
    state = connection.state
    if VIEWER_KEY in state:
        return state[VIEWER_KEY]
    token = bearer_token(connection)
    if token is None:
        return None
    viewer = await viewer_for_token(session, token)
    if viewer is None:
        raise Unauthenticated(
            "the bearer token is unknown, expired or revoked; sign in again at /api/auth/token"
        )
    check_scope(connection, viewer)
    state[VIEWER_KEY] = viewer
    return viewer


VIEWER_KEY = "riality_viewer"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SUBMIT = {"token_scope": TokenScope.SUBMIT}  # the `opt` of the handlers a `submit` token may call


def check_scope(connection: ASGIConnection, viewer: Viewer) -> None:
    """A `read` token makes safe requests only; a `submit` token also the handlers marked SUBMIT
    (uploads, teams, cancelling, final selections); a sign-in's token anything its user may."""
    if viewer.scope is TokenScope.FULL or connection.method in SAFE_METHODS:
        return
    if (
        viewer.scope is TokenScope.SUBMIT
        and connection.route_handler.opt.get("token_scope") == TokenScope.SUBMIT
    ):
        return
    raise Forbidden(
        f"this API token's scope is {viewer.scope.value!r}: it may not {connection.method} "
        f"{connection.url.path} (read: safe requests; submit: also uploads, teams, cancelling and "
        "final selections; anything else: sign in)"
    )


async def provide_current_user(viewer: NamedDependency[Viewer | None]) -> Viewer:
    if viewer is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>' from /api/auth/token")
    return viewer
