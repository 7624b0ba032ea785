"""What a challenge's staff do to its teams and submissions: disqualify, take notes, review teams, export."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Disqualification, StaffNote
from scoring.ranking import Board
from server.api.boards import PhaseQuery, current_board
from server.api.deps import announce_board_change
from server.api.openapi import errors
from server.api.schemas import (
    DisqualificationIn,
    DisqualificationOut,
    NoteIn,
    NoteOut,
)
from server.api.staff import staff_challenge
from server.services import audit, boards, disqualifications, exports, notes, submissions, teams
from server.services.accounts import Viewer
from server.services.disqualifications import Target

CSV = ResponseSpec(
    data_container=str, media_type="text/csv", description="CSV, UTF-8", generate_examples=False
)


def _note_out(note: StaffNote) -> NoteOut:
    assert note.id is not None
    return NoteOut(note.id, note.author, note.text, note.created_at, note.team_id, note.submission_id)


def _disqualification_out(row: Disqualification) -> DisqualificationOut:
    assert row.id is not None
    return DisqualificationOut(row.id, row.team_id, row.submission_id, row.reason, row.created_at)


def _csv(body: bytes, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ReviewController(Controller):
    path = "/api"
    tags = ["staff"]

    @post(
        "/challenges/{slug:str}/disqualifications", status_code=201, responses=errors(400, 401, 403, 404, 409)
    )
    async def disqualify(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[DisqualificationIn],
    ) -> DisqualificationOut:
        """Disqualify a team (it leaves both boards) or one submission (no longer its team's best);
        the team sees the reason (organisers)."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        target = Target(team_id=data.team_id, submission_id=data.submission_id)
        row, team_id = await disqualifications.disqualify(
            db_session, current_user, challenge, target, data.reason
        )
        await announce_board_change(state, slug, team_id)
        return _disqualification_out(row)

    @get("/challenges/{slug:str}/disqualifications", responses=errors(401, 404))
    async def list_disqualifications(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[DisqualificationOut]:
        challenge = await staff_challenge(db_session, current_user, slug)
        return [
            _disqualification_out(r)
            for r in await disqualifications.list_disqualifications(db_session, challenge)
        ]

    @delete(
        "/challenges/{slug:str}/disqualifications/{disqualification_id:int}",
        status_code=204,
        responses=errors(400, 401, 403, 404),
    )
    async def lift(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        disqualification_id: FromPath[int],
    ) -> None:
        """Lift a disqualification: the team, or the submission, counts again (organisers)."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        team_id = await disqualifications.lift(db_session, current_user, challenge, disqualification_id)
        await announce_board_change(state, slug, team_id)

    @post("/submissions/{submission_id:int}/notes", status_code=201, responses=errors(400, 401, 404))
    async def note_submission(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
        data: JSONBody[NoteIn],
    ) -> NoteOut:
        """A note on a submission, for the challenge's staff only."""
        _, challenge = await submissions.staff_submission(db_session, current_user, submission_id)
        note = await notes.add_note(
            db_session, current_user, challenge, data.text, submission_id=submission_id
        )
        return _note_out(note)

    @get("/submissions/{submission_id:int}/notes", responses=errors(400, 401, 404))
    async def submission_notes(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> list[NoteOut]:
        _, challenge = await submissions.staff_submission(db_session, current_user, submission_id)
        return [_note_out(n) for n in await notes.notes(db_session, challenge, submission_id=submission_id)]

    @post(
        "/challenges/{slug:str}/teams/{team_id:int}/notes", status_code=201, responses=errors(400, 401, 404)
    )
    async def note_team(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        team_id: FromPath[int],
        data: JSONBody[NoteIn],
    ) -> NoteOut:
        """A note on a team, for the challenge's staff only."""
        challenge = await staff_challenge(db_session, current_user, slug)
        await teams.challenge_team(db_session, challenge, team_id)
        return _note_out(
            await notes.add_note(db_session, current_user, challenge, data.text, team_id=team_id)
        )

    @get("/challenges/{slug:str}/teams/{team_id:int}/notes", responses=errors(400, 401, 404))
    async def team_notes(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        team_id: FromPath[int],
    ) -> list[NoteOut]:
        challenge = await staff_challenge(db_session, current_user, slug)
        await teams.challenge_team(db_session, challenge, team_id)
        return [_note_out(n) for n in await notes.notes(db_session, challenge, team_id=team_id)]

    @get("/challenges/{slug:str}/export/leaderboard.csv", responses={200: CSV, **errors(400, 401, 404)})
    async def export_leaderboard(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        board: FromQuery[Board] = Board.PUBLIC,
        phase: PhaseQuery = None,
    ) -> Response[bytes]:
        """The whole board of a phase (the current one unless named), in its order, as CSV (the
        challenge's staff)."""
        challenge = await staff_challenge(db_session, current_user, slug)
        assert challenge.id is not None
        whole = await current_board(state, challenge, boards.board_phase(challenge, phase), board)
        body = exports.leaderboard_csv(whole, await teams.members_by_team(db_session, challenge.id))
        audit.record(db_session, current_user, challenge, "export", f"leaderboard.csv ({board.value})")
        await db_session.commit()
        return _csv(body, f"{slug}-{board.value}-leaderboard.csv")

    @get("/challenges/{slug:str}/export/submissions.csv", responses={200: CSV, **errors(401, 404)})
    async def export_submissions(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[bytes]:
        """Every submission as CSV (the challenge's staff)."""
        challenge = await staff_challenge(db_session, current_user, slug)
        body = await exports.submissions_csv(db_session, challenge)
        audit.record(db_session, current_user, challenge, "export", "submissions.csv")
        await db_session.commit()
        return _csv(body, f"{slug}-submissions.csv")
