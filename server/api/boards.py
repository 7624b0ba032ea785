"""The leaderboards, as JSON and as a live stream (server-sent events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, ChallengeState, EntryUncertainty
from scoring.ranking import Board, BoardEntry
from server import live
from server.api.openapi import Offset, errors
from server.api.schemas import BaselineOut, BoardEventOut, EntryOut, LeaderboardOut
from server.live import keys
from server.services import boards, challenges, staff
from server.services.accounts import Viewer
from server.services.boards import BoardData, Leaderboard

Limit = Annotated[int | None, QueryParameter(ge=1, le=100_000, description="at most this many entries")]
PhaseQuery = Annotated[
    str | None, QueryParameter(max_length=40, description="a phase's key (the current phase if left out)")
]


def leaderboard_out(result: Leaderboard, entries: list[BoardEntry], *, reviewer: bool) -> LeaderboardOut:
    return LeaderboardOut(
        board=result.board.value,
        phase=result.phase,
        metric=result.metric,
        higher_is_better=result.higher_is_better,
        precision=result.precision,
        teams=len(result),
        record_length=result.record[0],
        record_head=result.record[1],
        entries=[
            EntryOut(
                rank=e.rank,
                team=e.team,
                submission_id=e.submission_id if reviewer else None,
                score=e.score,
                metrics=e.metrics,
                submissions=e.submissions,
                last_submission_at=e.last_submission_at,
                wall_s=e.efficiency.wall_s,
                cpu_s=e.efficiency.cpu_s,
                peak_memory_mb=e.efficiency.peak_memory_mb,
                worst_group=e.worst_group,
                disparity=e.disparity,
                **_uncertainty(result.uncertainty.get(e.submission_id)),
            )
            for e in entries
        ],
        uncertainty_at=result.uncertainty_at,
        baselines=[BaselineOut(r.name, r.score, r.metrics) for r in result.references],
    )


def _uncertainty(row: EntryUncertainty | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {
        "ci_low": row.low,
        "ci_high": row.high,
        "tied_with_leader": row.tied_with_leader,
        "rank_low": row.rank_low,
        "rank_high": row.rank_high,
    }


def _encode_page(result: Leaderboard, offset: int, limit: int | None, *, reviewer: bool) -> bytes:
    """One page of a board as JSON (the same bytes for a read and a stream of the same page)."""
    return msgspec.json.encode(leaderboard_out(result, result.page(offset, limit), reviewer=reviewer))


async def current_board(state: State, challenge: Challenge, phase: str, board: Board) -> Leaderboard:
    """A phase's board from this process's board data: read once, then refreshed only for the teams
    that changed, and kept in rank order. Visibility is the caller's check."""
    assert challenge.id is not None
    challenge_id, slug = challenge.id, challenge.slug

    async def load() -> BoardData:
        async with state.sessions() as session:
            return await boards.board_data(session, challenge_id, phase)

    async def refresh(data: BoardData, team_ids: set[int]) -> BoardData:
        async with state.sessions() as session:
            return await boards.refresh_teams(session, challenge_id, phase, data, team_ids)

    return boards.rank(challenge, phase, board, await state.hub.kept(slug, load, refresh, phase))


class BoardController(Controller):
    path = "/api/challenges/{slug:str}"
    tags = ["boards"]

    @get(
        "/leaderboard",
        responses={
            200: ResponseSpec(
                data_container=LeaderboardOut, description="The board", generate_examples=False
            ),
            **errors(400, 401, 403, 404),
        },
    )
    async def leaderboard(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        board: FromQuery[Board] = Board.PUBLIC,
        limit: Limit = None,
        offset: Offset = 0,
        phase: PhaseQuery = None,
    ) -> Response[bytes]:
        """The board (or one page of it: `limit`, `offset`), from a per-process cache that the
        'board changed' events invalidate."""
        # The challenge row is kept 2 s: reads of a busy board then touch no database at all.
        found = await state.hub.recent(
            keys.challenge_row(slug), 2.0, lambda: challenges.find_challenge(db_session, slug)
        )
        if found is None or found.state == ChallengeState.DRAFT:  # no such board, or its staff's only
            found = await challenges.get_challenge(db_session, slug, viewer)
        challenge = found
        access = await staff.access_to(db_session, viewer, challenge.id)
        boards.ensure_visible(challenge, board, access)
        reviewer = access.is_staff
        shown = boards.board_phase(challenge, phase)

        async def page() -> bytes:
            whole = await current_board(state, challenge, shown, board)
            return _encode_page(whole, offset, limit, reviewer=reviewer)

        key = keys.board_page(challenge, board, reviewer=reviewer, offset=offset, limit=limit, phase=shown)
        body = await state.hub.render(slug, key, page)
        return Response(body, media_type=MediaType.JSON)

    @get(
        "/leaderboard/stream",
        media_type="text/event-stream",
        responses={
            200: ResponseSpec(
                data_container=BoardEventOut,
                media_type="text/event-stream",
                description="Server-sent events: 'snapshot' with the board as JSON, then 'board' on every change",
                generate_examples=False,
            ),
            **errors(400, 401, 403, 404),
        },
    )
    async def stream(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        board: FromQuery[Board] = Board.PUBLIC,
        limit: Limit = None,
        phase: PhaseQuery = None,
    ) -> Stream:
        """A snapshot of the board (its top `limit` entries if given) first, then again on every change."""
        challenge = await challenges.get_challenge(db_session, slug, viewer)
        access = await staff.access_to(db_session, viewer, challenge.id)
        boards.ensure_visible(challenge, board, access)  # refused before the stream starts
        reviewer = access.is_staff
        shown = boards.board_phase(challenge, phase)  # a stream stays on the phase it started on
        key = keys.board_page(challenge, board, reviewer=reviewer, offset=0, limit=limit, phase=shown)

        async def build() -> bytes:
            whole = await current_board(state, challenge, shown, board)
            return _encode_page(whole, 0, limit, reviewer=reviewer)

        async def frames() -> AsyncIterator[bytes]:
            # Framed here rather than by litestar's ServerSentEvent: the same board goes to every
            # stream, and re-encoding it per stream was the larger part of the fan-out's time.
            async for kind, body in live.board_events(state.hub, slug, key, build):
                yield live.KEEPALIVE if body is None else live.sse_frame(kind, body)

        return Stream(
            frames(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"},
        )
