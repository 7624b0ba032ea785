"""The leaderboards, as JSON and as a live stream (server-sent events)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlmodel.ext.asyncio.session import AsyncSession

from scoring.ranking import Board
from server import live
from server.api.schemas import EntryOut, LeaderboardOut
from server.services import boards, challenges
from server.services.accounts import Viewer
from server.services.boards import Leaderboard


def leaderboard_out(result: Leaderboard, *, reviewer: bool) -> LeaderboardOut:
    return LeaderboardOut(
        board=result.board.value,
        metric=result.metric,
        higher_is_better=result.higher_is_better,
        entries=[
            EntryOut(
                rank=e.rank,
                team=e.team,
                submission_id=e.submission_id if reviewer else None,
                score=e.score,
                metrics=e.metrics,
                submissions=e.submissions,
                last_submission_at=e.last_submission_at,
            )
            for e in result.entries
        ],
    )


def _reviewer(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.role.sees_everything


class BoardController(Controller):
    path = "/api/challenges/{slug:str}"
    tags = ["boards"]

    @get("/leaderboard")
    async def leaderboard(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        board: FromQuery[Board] = Board.PUBLIC,
    ) -> LeaderboardOut:
        challenge = await challenges.get_challenge(db_session, slug)
        result = await boards.leaderboard(db_session, challenge, board, viewer)
        return leaderboard_out(result, reviewer=_reviewer(viewer))

    @get("/leaderboard/stream")
    async def stream(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        board: FromQuery[Board] = Board.PUBLIC,
    ) -> ServerSentEvent:
        """A snapshot of the board first, then the whole board again each time it changes."""
        challenge = await challenges.get_challenge(db_session, slug)
        await boards.leaderboard(
            db_session, challenge, board, viewer
        )  # refuses a private board before streaming
        reviewer = _reviewer(viewer)

        async def build() -> bytes:
            async with state.sessions() as session:
                fresh = await challenges.get_challenge(session, slug)
                result = await boards.leaderboard(session, fresh, board, viewer)
            return msgspec.json.encode(leaderboard_out(result, reviewer=reviewer))

        audience = f"{board.value}:{'reviewer' if reviewer else 'public'}"

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            async for kind, body in live.board_events(state.hub, slug, audience, build):
                if body is None:
                    yield ServerSentEventMessage(comment="keep-alive")
                else:
                    yield ServerSentEventMessage(event=kind, data=body.decode())

        return ServerSentEvent(messages(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
