"""Uploading submissions and reading them back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.response import File
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import Kind
from core.challenges import spec_of
from core.db import outside_transaction
from core.models import Challenge, Status, Submission, Team, utcnow
from core.workers import sandbox_check
from scoring.ranking import BoardRules, Efficiency
from server.api.deps import SUBMIT, announce_board_change, provide_current_user, viewer_of
from server.api.openapi import Offset, errors
from server.api.schemas import FinalIn, ReceiptOut, SubmissionOut, UploadForm, UploadOut
from server.services import (
    cancellation,
    challenges,
    disqualifications,
    receipts,
    rescoring,
    staff,
    submissions,
)
from server.services.accounts import Viewer
from server.services.submissions import Upload, private_visible, visible_metrics


async def submission_outs(
    session: AsyncSession,
    viewer: Viewer,
    subs: Sequence[Submission],
    *,
    access: staff.Access | None = None,
    team: Team | None = None,
) -> list[SubmissionOut]:
    """Submissions as their reader may see them; what they share (challenge, access, team names,
    disqualifications) is read once per page, not once per submission. `access` (to their one
    challenge) and `team` (their one team), if the caller has them already, are not read again."""
    now = utcnow()
    if team is not None:
        team_names = {team.id: team.name}
    else:
        query = select(Team.id, Team.name).where(col(Team.id).in_({s.team_id for s in subs}))
        team_names = dict((await session.exec(query)).all())
    shared: dict[int, tuple[Challenge, bool, disqualifications.Reasons, BoardRules, bool]] = {}
    out = []
    for sub in subs:
        if sub.challenge_id not in shared:
            challenge = await session.get(Challenge, sub.challenge_id)
            assert challenge is not None
            # Read per challenge, never carried from one challenge to the next; a caller's is for its one.
            known = access if access is not None else await staff.access_to(session, viewer, challenge.id)
            reasons = await disqualifications.reasons(session, sub.challenge_id)
            rules = spec_of(challenge).board_rules  # whether a phase runs the Ladder is the challenge's
            private = private_visible(known, challenge, now)
            shared[sub.challenge_id] = (challenge, private, reasons, rules, known.is_staff)
        challenge, show_private, reasons, rules, is_staff = shared[sub.challenge_id]
        # Under the Ladder a team learns the public score of its released submissions only.
        show_public = not rules.ladder or is_staff or sub.released
        assert sub.id is not None
        out.append(
            SubmissionOut(
                id=sub.id,
                challenge=challenge.slug,
                phase=sub.phase,
                team_id=sub.team_id,
                team=team_names.get(sub.team_id, ""),
                kind=sub.kind,
                status=sub.status,
                filename=sub.filename,
                size=sub.size,
                note=sub.note,
                final=sub.final,
                public_score=sub.public_score if show_public else None,
                private_score=sub.private_score if show_private else None,
                metrics=visible_metrics(sub.metrics, show_private, show_public),
                released=sub.released if rules.ladder else None,
                error=sub.error,
                failure=sub.failure,
                logs=sub.logs,
                scorer_logs=sub.scorer_logs if is_staff else None,
                details=sub.details_sha256 is not None,
                wall_s=sub.wall_s,
                cpu_s=sub.cpu_s,
                peak_memory_mb=sub.peak_memory_mb,
                created_at=sub.created_at,
                started_at=sub.started_at,
                finished_at=sub.finished_at,
                staff_test=sub.staff_test,
                disqualified=reasons.of_submission(sub.id, sub.team_id),
                not_ranked=rules.broken(Efficiency(sub.wall_s, sub.cpu_s, sub.peak_memory_mb))
                if sub.status == Status.SCORED
                else [],
            )
        )
    return out


async def submission_out(
    session: AsyncSession,
    viewer: Viewer,
    sub: Submission,
    *,
    access: staff.Access | None = None,
    team: Team | None = None,
) -> SubmissionOut:
    return (await submission_outs(session, viewer, [sub], access=access, team=team))[0]


DETAILS_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
DETAILS_LIMIT = 4 * 2**20  # the worker keeps at most 2 MiB (runner.programs)
ACCESS_KEY = "riality_upload_access"  # what the upload's guard found, for its handler


async def admit_upload(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """A guard: it runs before the body is read, so an upload that its headers already condemn
    (anonymous, unknown challenge, closed, too large, over quota) is refused without reading it."""
    state = connection.app.state
    async with state.sessions() as session:
        await outside_transaction(session)  # reads only (the quota is checked again under a lock)
        viewer = await provide_current_user(await viewer_of(connection, session))
        challenge = await challenges.get_challenge(session, connection.path_params["slug"], viewer)
        length = connection.headers.get("content-length")
        connection.state[ACCESS_KEY] = await submissions.admit_upload(
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
        opt=SUBMIT,
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
    ) -> Response[UploadOut]:
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
                access=(access := request.state.get(ACCESS_KEY)),
            )
        finally:
            await data.file.close()
        await outside_transaction(db_session)  # the upload is committed: what follows only reads
        out = await submission_out(
            db_session, current_user, accepted.submission, access=access, team=accepted.team
        )
        signed = await receipts.receipt_of(db_session, state.receipt_key, accepted.submission)
        return Response(
            UploadOut(**msgspec.structs.asdict(out), receipt=ReceiptOut(**signed)),
            status_code=202,
            headers={"Idempotent-Replayed": "true"} if accepted.replayed else {},
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

    @put(
        "/submissions/{submission_id:int}/final",
        opt=SUBMIT,
        status_code=200,
        responses=errors(400, 401, 403, 404, 409),
    )
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
        await announce_board_change(state, out.challenge, sub.team_id)  # the private board may change
        return out

    @get("/challenges/{slug:str}/submissions", responses=errors(400, 401, 404))
    async def list_submissions(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        team: Annotated[
            str | None, QueryParameter(max_length=80, description="a team's name (staff)")
        ] = None,
        status: FromQuery[Status | None] = None,
        kind: FromQuery[Kind | None] = None,
        offset: Offset = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[SubmissionOut]:
        """Every submission to the challenge's staff, newest first (filters: `team`, `status`, `kind`);
        to a participant, their own team's."""
        challenge = await challenges.get_challenge(db_session, slug, current_user)
        filters = submissions.Filters(team=team, status=status, kind=kind)
        rows = await submissions.challenge_submissions(
            db_session, current_user, challenge, filters, offset=offset, limit=limit
        )
        return await submission_outs(db_session, current_user, rows)

    @post(
        "/submissions/{submission_id:int}/cancel",
        opt=SUBMIT,
        status_code=200,
        responses=errors(400, 401, 404, 409),
    )
    async def cancel(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> SubmissionOut:
        """Cancel a queued or running submission (its team, or the challenge's staff): a running
        container is killed, and the submission uses no quota."""
        sub = await cancellation.cancel(db_session, current_user, submission_id)
        return await submission_out(db_session, current_user, sub)

    @post(
        "/submissions/{submission_id:int}/rescore", status_code=202, responses=errors(400, 401, 403, 404, 409)
    )
    async def rescore(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> SubmissionOut:
        """Score it again (the challenge's organisers): a scored one in place, a failed one from the queue."""
        sub = await rescoring.rescore_one(db_session, state.queue, current_user, submission_id)
        return await submission_out(db_session, current_user, sub)

    @get(
        "/submissions/{submission_id:int}/details",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/html",
                description="The scoring program's detailed results page, in a sandbox: no script, no request",
                generate_examples=False,
            ),
            **errors(400, 401, 404),
        },
    )
    async def details(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> Response[bytes]:
        """The detailed results page the challenge's scoring program wrote (its team and the staff).

        The organiser's HTML is not trusted with our origin: the CSP's `sandbox` gives it an opaque
        origin without scripts, forms or navigation, and it may load nothing but inline styles and
        data: images."""
        sub = await submissions.get_submission(db_session, current_user, submission_id)
        if sub.details_sha256 is None:
            raise NotFoundException(f"submission {submission_id} has no detailed results page")
        return Response(
            state.store.read_bytes(sub.details_sha256, limit=DETAILS_LIMIT),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": DETAILS_CSP,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    @get(
        "/submissions/{submission_id:int}/file",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                description="The file as it was uploaded",
                generate_examples=False,
            ),
            **errors(400, 401, 404, 410),
        },
    )
    async def download(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> File:
        """The uploaded file, byte for byte (its team's members and the challenge's staff)."""
        sub = await submissions.get_submission(db_session, current_user, submission_id)
        return File(
            path=submissions.kept_file(state.store, sub),
            filename=sub.filename,
            media_type="application/octet-stream",
            content_disposition_type="attachment",
        )
