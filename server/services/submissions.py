"""Submissions: accepting an upload under the quota, and reading submissions with the right visibility."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import PurePath
from typing import BinaryIO

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec, Kind
from runner.queue import EvaluationQueue
from runner.sandbox import DockerProbe
from scoring.validate import FileFormat
from server.errors import (
    BadRequest,
    Conflict,
    NotFound,
    OutsideSchedule,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceUnavailable,
)
from server.models import MAX_ROW_ID, Challenge, Member, Status, Submission, Team, utcnow
from server.services.accounts import Viewer
from server.services.challenges import spec_of
from server.services.teams import lock_team, membership, team_for_submission
from server.storage import BlobStore, TooLargeError

log = logging.getLogger(__name__)

_FORMATS = {".csv": FileFormat.CSV, ".parquet": FileFormat.PARQUET, ".pq": FileFormat.PARQUET}
_KIND_BY_SUFFIX = {
    **dict.fromkeys(_FORMATS, Kind.PREDICTIONS),
    ".zip": Kind.CODE,
    ".joblib": Kind.MODEL,
    ".pkl": Kind.MODEL,
    ".pickle": Kind.MODEL,
}
_FILE_FORMAT = {Kind.CODE: FileFormat.ZIP, Kind.MODEL: FileFormat.PICKLE}


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    stream: BinaryIO
    note: str | None = None
    kind: str | None = None


def check_schedule(spec: ChallengeSpec, now: datetime) -> None:
    schedule = spec.schedule
    if schedule.opens and now < schedule.opens:
        raise OutsideSchedule(f"{spec.slug!r} opens for submissions at {schedule.opens.isoformat()}")
    if schedule.closes and now >= schedule.closes:
        raise OutsideSchedule(f"{spec.slug!r} closed for submissions at {schedule.closes.isoformat()}")


def _display_name(filename: str) -> str:
    # Only the last path component, printable, bounded: it is shown, never used as a path.
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "upload"


def detect_kind(spec: ChallengeSpec, upload: Upload) -> tuple[Kind, FileFormat]:
    """The kind from the optional form field, else from the file name; it must be one the challenge accepts."""
    suffix = PurePath(_display_name(upload.filename)).suffix.lower()
    if upload.kind is not None and upload.kind not in Kind.__members__.values():
        raise BadRequest(f"kind: expected one of {', '.join(k.value for k in Kind)} (got {upload.kind!r})")
    kind = Kind(upload.kind) if upload.kind else _KIND_BY_SUFFIX.get(suffix)
    if kind is None:
        raise BadRequest(
            f"file: cannot tell the kind of {upload.filename!r}; expected .csv or .parquet (predictions), "
            ".joblib or .pkl (model) or .zip (code), or a 'kind' field"
        )
    if kind not in spec.kinds:
        accepted = ", ".join(k.value for k in spec.kinds)
        raise BadRequest(
            f"kind: {spec.slug!r} does not accept {kind.value} submissions (accepted: {accepted})"
        )
    if kind is Kind.PREDICTIONS:
        if suffix not in _FORMATS:
            raise BadRequest(
                f"file: a prediction file must end in .csv or .parquet (got {upload.filename!r})"
            )
        return kind, _FORMATS[suffix]
    return kind, _FILE_FORMAT[kind]


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


async def _check_quota(session: AsyncSession, team_id: int, spec: ChallengeSpec, now: datetime) -> None:
    counted = (
        select(func.count())
        .select_from(Submission)
        .where(Submission.team_id == team_id, col(Submission.counts_toward_quota))
    )
    total = (await session.exec(counted)).one()
    if total >= spec.limits.total:
        raise QuotaExceeded(
            f"your team has used its total quota of {spec.limits.total} submissions", resets_at=None
        )
    today = (await session.exec(counted.where(Submission.created_at >= _day_start(now)))).one()
    if today >= spec.limits.per_day:
        resets_at = _day_start(now) + timedelta(days=1)
        raise QuotaExceeded(
            f"your team has used its {spec.limits.per_day} submissions for today (UTC); "
            f"the quota resets at {resets_at.isoformat()}",
            resets_at=resets_at,
        )


async def submit(
    session: AsyncSession,
    store: BlobStore,
    queue: EvaluationQueue,
    viewer: Viewer,
    challenge: Challenge,
    upload: Upload,
    *,
    max_upload_bytes: int,
    docker: DockerProbe,
) -> Submission:
    """Store the file, insert the submission under the quota in one transaction, then enqueue it."""
    challenge_id = challenge.id  # read once: a rollback below expires loaded objects
    spec = spec_of(challenge)
    check_schedule(spec, utcnow())
    kind, file_format = detect_kind(spec, upload)
    if kind is not Kind.PREDICTIONS:
        answers, reason = await asyncio.to_thread(docker.available)
        if not answers:
            raise ServiceUnavailable(
                f"{kind.value} submissions run in a Docker sandbox, and no Docker daemon answers on this server "
                f"({reason}); prediction files are still accepted"
            )
    if upload.note is not None and len(upload.note) > 500:
        raise BadRequest("note: expected at most 500 characters")
    limit = min(spec.limits.upload_bytes, max_upload_bytes)
    try:
        sha256, size = await asyncio.to_thread(store.put_stream, upload.stream, limit=limit)
    except TooLargeError:
        raise PayloadTooLarge(f"file: larger than the limit of {limit:,} bytes for {spec.slug!r}") from None
    team = await team_for_submission(session, viewer, challenge)
    assert team.id is not None and challenge_id is not None
    team_id = team.id
    now = utcnow()
    await lock_team(session, team_id)
    try:
        await _check_quota(session, team_id, spec, now)
    except QuotaExceeded:
        await session.rollback()
        raise
    await session.exec(
        update(Team)
        .where(col(Team.id) == team_id)
        .values(submissions=col(Team.submissions) + 1, last_submission_at=now)
    )
    submission = Submission(
        challenge_id=challenge_id,
        team_id=team_id,
        user_id=viewer.id,
        kind=kind,
        file_format=file_format,
        filename=_display_name(upload.filename),
        sha256=sha256,
        size=size,
        note=upload.note,
        created_at=now,
    )
    session.add(submission)
    await session.commit()
    assert submission.id is not None
    try:
        await queue.enqueue_evaluation(submission.id)
    except Exception:  # the reconciler re-enqueues it; the upload itself has succeeded
        log.exception("could not enqueue submission %s; the reconciler will pick it up", submission.id)
    return submission


async def _visible(session: AsyncSession, viewer: Viewer, submission: Submission) -> bool:
    return viewer.role.sees_everything or await _is_member(session, viewer, submission.team_id)


async def _find(session: AsyncSession, submission_id: int) -> Submission | None:
    """The submission with this id; an id no row can have (past the INTEGER column's range) is simply absent."""
    if not 1 <= submission_id <= MAX_ROW_ID:
        return None
    return await session.get(Submission, submission_id)


async def get_submission(session: AsyncSession, viewer: Viewer, submission_id: int) -> Submission:
    submission = await _find(session, submission_id)
    if submission is None or not await _visible(session, viewer, submission):
        raise NotFound(f"no submission {submission_id} that you can see")
    return submission


async def team_submissions(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> list[Submission]:
    member = await membership(session, viewer, challenge.id)
    if member is None:
        return []
    rows = await session.exec(
        select(Submission).where(Submission.team_id == member.team_id).order_by(col(Submission.id).desc())
    )
    return list(rows)


def private_visible(viewer: Viewer | None, spec: ChallengeSpec, now: datetime) -> bool:
    """Organisers and judges see private scores at any time; everyone else after the close."""
    return (viewer is not None and viewer.role.sees_everything) or spec.schedule.is_closed(now)


async def set_final(session: AsyncSession, viewer: Viewer, submission_id: int, final: bool) -> Submission:
    """Mark or unmark one of the team's scored submissions as a final selection for the private board."""
    submission = await _find(session, submission_id)
    if submission is None or not await _is_member(session, viewer, submission.team_id):
        raise NotFound(f"no submission {submission_id} of your team")
    challenge = await session.get(Challenge, submission.challenge_id)
    assert challenge is not None
    spec = spec_of(challenge)
    if spec.schedule.is_closed(utcnow()):
        raise OutsideSchedule(f"{spec.slug!r} has closed: final selections can no longer change")
    if final and submission.status != Status.SCORED:
        raise Conflict(
            f"submission {submission_id} is {submission.status}; only a scored submission can be final"
        )
    team_id = submission.team_id
    await lock_team(session, team_id)
    if final and not submission.final:
        chosen = (
            select(func.count())
            .select_from(Submission)
            .where(Submission.team_id == team_id, col(Submission.final))
        )
        limit = spec.limits.final_selections
        if (await session.exec(chosen)).one() >= limit:
            await session.rollback()
            raise Conflict(f"your team has already selected {limit} final submission(s); unselect one first")
    submission.final = final
    await session.commit()
    return submission


async def _is_member(session: AsyncSession, viewer: Viewer, team_id: int) -> bool:
    member = (
        await session.exec(select(Member).where(Member.team_id == team_id, Member.user_id == viewer.id))
    ).first()
    return member is not None
