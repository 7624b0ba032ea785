"""Uploading submissions and reading them back."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, MultipartBody
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, Submission, Team, utcnow
from core.workers import sandbox_check
from server.api.deps import provide_current_user, viewer_of
from server.api.openapi import errors
from server.api.schemas import FinalIn, SubmissionOut, UploadForm
from server.services import challenges, staff, submissions
from server.services.accounts import Viewer
from server.services.submissions import Upload, private_visible


async def submission_out(session: AsyncSession, viewer: Viewer, sub: Submission) -> SubmissionOut:
    challenge = await session.get(Challenge, sub.challenge_id)
    team = await session.get(Team, sub.team_id)
    assert challenge is not None and team is not None and sub.id is not None
    show_private = private_visible(await staff.access_to(session, viewer, challenge.id), challenge, utcnow())
    metrics = {k: v for k, v in sub.metrics.items() if show_private or k != "private"}
    return SubmissionOut(
        id=sub.id,
        challenge=challenge.slug,
        team=team.name,
        kind=sub.kind,
        status=sub.status,
        filename=sub.filename,
        size=sub.size,
        note=sub.note,
        final=sub.final,
        public_score=sub.public_score,
        private_score=sub.private_score if show_private else None,
        metrics=metrics,
        error=sub.error,
        logs=sub.logs,
        wall_s=sub.wall_s,
        cpu_s=sub.cpu_s,
        peak_memory_mb=sub.peak_memory_mb,
        created_at=sub.created_at,
        started_at=sub.started_at,
        finished_at=sub.finished_at,
    )


async def admit_upload(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """A guard: it runs before the body is read, so an upload that its headers already condemn
    (anonymous, unknown challenge, closed, too large, over quota) is refused without reading it."""
    state = connection.app.state
    async with state.sessions() as session:
        viewer = await provide_current_user(await viewer_of(connection, session))
        challenge = await challenges.get_challenge(session, connection.path_params["slug"], viewer)
        length = connection.headers.get("content-length")
        await submissions.admit_upload(
            session,
            viewer,
            challenge,
            content_length=int(length) if length and length.isdigit() else None,
            idempotency_key=connection.headers.get("idempotency-key"),
            max_upload_bytes=state.settings.max_upload_bytes,
        )


class SubmissionController(Controller):
    path = "/api"
    tags = ["submissions"]

    @post(
        "/challenges/{slug:str}/submissions",
        status_code=202,
        guards=[admit_upload],
        responses=errors(400, 401, 403, 404, 409, 411, 413, 429, 503),
    )
    async def upload(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        request: Request,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: MultipartBody[UploadForm],
    ) -> Response[SubmissionOut]:
        """Upload predictions, a model or code. Send an `Idempotency-Key` header to retry safely: the
        same key and file give back the first submission (header `Idempotent-Replayed: true`)."""
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        upload = Upload(
            filename=data.file.filename or "upload", stream=data.file.file, note=data.note, kind=data.kind
        )
        try:
            accepted = await submissions.submit(
                db_session,
                state.store,
                state.queue,
                current_user,
                challenge,
                upload,
                max_upload_bytes=state.settings.max_upload_bytes,
                sandbox=sandbox_check(state.queue.redis),
                idempotency_key=request.headers.get("idempotency-key"),
            )
        finally:
            await data.file.close()
        out = await submission_out(db_session, current_user, accepted.submission)
        return Response(
            out, status_code=202, headers={"Idempotent-Replayed": "true"} if accepted.replayed else {}
        )

    @get("/submissions/{submission_id:int}", responses=errors(400, 401, 404))
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> SubmissionOut:
        sub = await submissions.get_submission(db_session, current_user, submission_id)
        return await submission_out(db_session, current_user, sub)

    @put("/submissions/{submission_id:int}/final", status_code=200, responses=errors(400, 401, 403, 404, 409))
    async def set_final(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
        data: JSONBody[FinalIn],
    ) -> SubmissionOut:
        sub = await submissions.set_final(db_session, current_user, submission_id, data.final)
        out = await submission_out(db_session, current_user, sub)
        state.hub.changed(out.challenge, sub.team_id)  # this process at once; the others through Redis
        await state.queue.publish_board_changed(out.challenge, sub.team_id)  # the private board may change
        return out

    @get("/challenges/{slug:str}/submissions", responses=errors(401, 404))
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[SubmissionOut]:
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        rows = await submissions.team_submissions(db_session, current_user, challenge)
        return [await submission_out(db_session, current_user, s) for s in rows]
