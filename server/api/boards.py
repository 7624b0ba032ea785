"""The leaderboards."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlmodel.ext.asyncio.session import AsyncSession

from scoring.ranking import Board
from server.api.schemas import EntryOut, LeaderboardOut
from server.services import boards, challenges
from server.services.accounts import Viewer


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
        reviewer = viewer is not None and viewer.role.sees_everything
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
