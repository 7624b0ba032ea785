"""Submissions: accepting an upload under the quota, and reading submissions with the right visibility."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from sqlalchemy import ScalarSelect, and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import KIND_BY_SUFFIX, ONE_PHASE, ChallengeSpec, Kind, file_format, program_kind
from core.challenges import current_phase, spec_of
from core.lifecycle import state_of
from core.models import (
    MAX_ROW_ID,
    REFUSED_UPLOADS,
    Challenge,
    ChallengeState,
    Member,
    Status,
    Submission,
    Team,
    utcnow,
)
from core.queue import EvaluationQueue
from core.scheduling import placement
from core.storage import BlobStore, Incoming, TooLargeError
from core.workers import SandboxCheck
from scoring.validate import FileFormat
from server.errors import (
    BadRequest,
    Conflict,
    Gone,
    LengthRequired,
    NotFound,
    OutsideSchedule,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceUnavailable,
)
from server.services import chain, environments
from server.services.accounts import Viewer
from server.services.staff import Access, access_to, require_staff
from server.services.teams import lock_team, membership, team_for_submission

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    stream: BinaryIO
    note: str | None = None
    kind: str | None = None


def check_open(challenge: Challenge, phase: str, access: Access, now: datetime) -> None:
    """Participants submit while the challenge is published and its current phase open; its staff at
    any time, to try the pipeline (their entries never reach a board)."""
    if access.is_staff:
        return
    whole = spec_of(challenge)
    spec = whole.phase_spec(phase)
    schedule = spec.schedule
    named = f"{spec.slug!r}" if phase == ONE_PHASE else f"{spec.slug!r} (phase {phase!r})"
    if state_of(challenge, whole, now) is not ChallengeState.PUBLISHED:
        when = challenge.closed_at or whole.schedule.closes
        at = f" at {when.isoformat()}" if when else ""
        raise OutsideSchedule(f"{spec.slug!r} closed for submissions{at}")
    if schedule.opens and now < schedule.opens:
        raise OutsideSchedule(f"{named} opens for submissions at {schedule.opens.isoformat()}")
    if schedule.closes and now >= schedule.closes:
        following = whole.phase_keys.index(phase) + 1
        after = ""
        if following < len(whole.phases) and (opens := whole.phases[following].schedule.opens):
            after = f"; the next phase, {whole.phases[following].key!r}, opens at {opens.isoformat()}"
        raise OutsideSchedule(f"{named} closed for submissions at {schedule.closes.isoformat()}{after}")


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
    if spec.program is not None and upload.kind is None:
        kind: Kind | None = program_kind(spec.kinds)  # its scoring program decides what is valid
    else:
        kind = Kind(upload.kind) if upload.kind else KIND_BY_SUFFIX.get(suffix)
    if kind is None:
        raise BadRequest(
            f"file: cannot tell the kind of {upload.filename!r}; expected .csv or .parquet (predictions), "
            ".joblib, .pkl, .skops or .onnx (model) or .zip (code), or a 'kind' field"
        )
    if kind not in spec.kinds:
        accepted = ", ".join(k.value for k in spec.kinds)
        raise BadRequest(
            f"kind: {spec.slug!r} does not accept {kind.value} submissions (accepted: {accepted})"
        )
    found = file_format(kind, suffix)
    if found is None:
        raise BadRequest(f"file: a prediction file must end in .csv or .parquet (got {upload.filename!r})")
    return kind, found


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


async def _check_quota(
    session: AsyncSession,
    team: int | ScalarSelect[int | None],
    user_id: int,
    challenge_id: int,
    phase: str,
    spec: ChallengeSpec,
    now: datetime,
) -> None:
    """The team's submissions and the user's own in this phase count together: leaving a team
    for a new one does not bring a fresh quota. `team`: its id, or a query of the user's team (none
    yet: their own submissions count). One statement gives the total, today's count, and today's
    refused files (free of the quota, but bounded on their own)."""
    counts = col(Submission.counts_toward_quota)
    refused = col(Submission.failure).in_(REFUSED_UPLOADS)
    today = col(Submission.created_at) >= _day_start(now)
    counted = (
        select(
            func.count().filter(counts),
            func.count().filter(counts & today),
            func.count().filter(refused & today),
        )
        .select_from(Submission)
        .where(
            or_(
                col(Submission.team_id) == team,
                and_(Submission.user_id == user_id, Submission.challenge_id == challenge_id),
            ),
            counts | refused,
            col(Submission.phase) == phase,  # each phase has its own limits
        )
    )
    total, today_count, refused_today = (await session.exec(counted)).one()
    limits = spec.limits
    resets_at = _day_start(now) + timedelta(days=1)
    if total >= limits.total:
        raise QuotaExceeded(
            f"your team has used its total quota of {limits.total} submissions", resets_at=None
        )
    if today_count >= limits.per_day:
        raise QuotaExceeded(
            f"your team has used its {limits.per_day} submissions for today (UTC); "
            f"the quota resets at {resets_at.isoformat()}",
            resets_at=resets_at,
        )
    if refused_today >= limits.invalid_per_day:
        raise QuotaExceeded(
            f"your team has sent {refused_today} files today that could not be used (at most "
            f"{limits.invalid_per_day} a day, apart from the {limits.per_day} scored submissions); each one's "
            f"error says what to fix. The count resets at {resets_at.isoformat()}",
            resets_at=resets_at,
        )


MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small form fields around the file
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def upload_limit(spec: ChallengeSpec, max_upload_bytes: int) -> int:
    return min(spec.limits.upload_bytes, max_upload_bytes)


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key header: expected 1 to 200 visible ASCII characters")


async def _replayed(session: AsyncSession, viewer: Viewer, key: str | None) -> Submission | None:
    if key is None:
        return None
    return (
        await session.exec(
            select(Submission).where(Submission.user_id == viewer.id, Submission.idempotency_key == key)
        )
    ).first()


async def admit_upload(
    session: AsyncSession,
    viewer: Viewer,
    challenge: Challenge,
    *,
    content_length: int | None,
    idempotency_key: str | None,
    max_upload_bytes: int,
) -> Access:
    """Refuse an upload from what its request line and headers already say, before its body is read:
    the schedule, the size it announces, and the quota (checked again under the team's lock later).
    The viewer's access to the challenge, for `submit`."""
    phase, spec = current_phase(challenge, utcnow())
    check_idempotency_key(idempotency_key)
    access = await access_to(session, viewer, challenge.id)
    if await _replayed(session, viewer, idempotency_key) is not None:
        return (
            access  # a retry of an accepted upload: answered with the first one, whatever the quota says now
        )
    check_open(challenge, phase, access, utcnow())
    limit = upload_limit(spec, max_upload_bytes)
    if content_length is None:
        raise LengthRequired("Content-Length header: required for uploads (the request must say its size)")
    if content_length > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"file: the request is {content_length:,} bytes; the limit is {limit:,} bytes for {spec.slug!r}"
        )
    assert challenge.id is not None
    team = (
        select(Member.team_id)
        .where(Member.challenge_id == challenge.id, Member.user_id == viewer.id)
        .scalar_subquery()
    )
    await _check_quota(session, team, viewer.id, challenge.id, phase, spec, utcnow())
    return access


@dataclass(frozen=True, slots=True)
class Accepted:
    submission: Submission
    replayed: bool  # the same Idempotency-Key was accepted before: this is that submission
    team: Team | None = None  # of a new submission (held here, it stays in the session's identity map)


async def submit(
    session: AsyncSession,
    store: BlobStore,
    queue: EvaluationQueue,
    viewer: Viewer,
    challenge: Challenge,
    upload: Upload,
    *,
    max_upload_bytes: int,
    sandbox: SandboxCheck,
    idempotency_key: str | None = None,
    access: Access | None = None,
) -> Accepted:
    """Receive the file, insert the submission under the quota in one transaction, then enqueue it.

    The file enters the store only with its row: a refused upload leaves nothing behind. `access`:
    the viewer's to the challenge if already read (by `admit_upload`).
    """
    challenge_id = challenge.id  # read once: a rollback below expires loaded objects
    assert challenge_id is not None
    phase, spec = current_phase(challenge, utcnow())
    check_idempotency_key(idempotency_key)
    kind, file_format = detect_kind(spec, upload)
    if upload.note is not None and len(upload.note) > 500:
        raise BadRequest("note: expected at most 500 characters")
    if upload.note is not None and "\x00" in upload.note:
        raise BadRequest("note: a NUL character is not allowed")
    limit = upload_limit(spec, max_upload_bytes)
    try:
        incoming = await asyncio.to_thread(store.receive, upload.stream, limit=limit)
    except TooLargeError:
        raise PayloadTooLarge(f"file: larger than the limit of {limit:,} bytes for {spec.slug!r}") from None
    try:
        previous = await _replayed(session, viewer, idempotency_key)
        if previous is not None:
            return _replay(previous, challenge_id, incoming.sha256)
        access = access if access is not None else await access_to(session, viewer, challenge_id)
        check_open(challenge, phase, access, utcnow())
        if kind is not Kind.PREDICTIONS:
            image = await environments.runtime_image(session, challenge_id, spec)
            if (refusal := await sandbox(image, spec.limits.gpus)) is not None:
                still = "; prediction files are still accepted" if Kind.PREDICTIONS in spec.kinds else ""
                raise ServiceUnavailable(
                    f"{kind.value} submissions run in a Docker sandbox, and no Docker daemon answers on a "
                    f"live worker ({refusal}){still}"
                )
        submission, team = await _insert(
            session,
            viewer,
            challenge,
            phase,
            spec,
            incoming,
            kind,
            file_format,
            upload,
            idempotency_key,
            access,
        )
    except IntegrityError:  # the same Idempotency-Key in a concurrent request, which won
        await session.rollback()
        previous = await _replayed(session, viewer, idempotency_key)
        if previous is None:
            raise
        return _replay(previous, challenge_id, incoming.sha256)
    finally:
        incoming.discard()  # no-op once committed
    assert submission.id is not None
    try:
        await queue.enqueue_evaluation(submission.id, await placement(session, submission, spec))
    except Exception:  # the reconciler re-enqueues it; the upload itself has succeeded
        log.exception("could not enqueue submission %s; the reconciler will pick it up", submission.id)
    return Accepted(submission, replayed=False, team=team)


def _replay(previous: Submission, challenge_id: int, sha256: str) -> Accepted:
    if previous.challenge_id != challenge_id or previous.sha256 != sha256:
        raise Conflict("Idempotency-Key header: this key was already used for another upload; use a new key")
    return Accepted(previous, replayed=True)


async def _insert(
    session: AsyncSession,
    viewer: Viewer,
    challenge: Challenge,
    phase: str,
    spec: ChallengeSpec,
    incoming: Incoming,
    kind: Kind,
    file_format: FileFormat,
    upload: Upload,
    idempotency_key: str | None,
    access: Access,
) -> tuple[Submission, Team]:
    """The quota check and the insert in one transaction under the team's lock; the file is put in
    the store just before the chain link and the commit (an orphan, if the commit then fails, is
    swept later)."""
    challenge_id = challenge.id
    team = await team_for_submission(session, viewer, challenge)
    assert team.id is not None and challenge_id is not None
    team_id = team.id
    now = utcnow()
    # The counters in the lock's statement: a refused upload rolls them back with everything else.
    await lock_team(session, team_id, submissions=col(Team.submissions) + 1, last_submission_at=now)
    try:
        await _check_quota(session, team_id, viewer.id, challenge_id, phase, spec, now)
    except QuotaExceeded:
        await session.rollback()
        raise
    submission = Submission(
        challenge_id=challenge_id,
        team_id=team_id,
        user_id=viewer.id,
        phase=phase,
        kind=kind,
        file_format=file_format,
        filename=_display_name(upload.filename),
        sha256=incoming.sha256,
        size=incoming.size,
        note=upload.note,
        idempotency_key=idempotency_key,
        staff_test=access.is_staff,
        created_at=now,
    )
    session.add(submission)
    await session.flush()
    await asyncio.to_thread(incoming.commit)
    # Last, and without a thread hop inside: every upload of the challenge waits for this lock.
    await chain.append(session, spec.slug, submission)
    await session.commit()
    return submission, team


async def _visible(session: AsyncSession, viewer: Viewer, submission: Submission) -> bool:
    """Its team's members, and the staff of its challenge."""
    if await is_member(session, viewer, submission.team_id):
        return True
    return (await access_to(session, viewer, submission.challenge_id)).is_staff


async def find_submission(session: AsyncSession, submission_id: int) -> Submission | None:
    """The submission with this id; an id no row can have (past the INTEGER column's range) is simply absent."""
    if not 1 <= submission_id <= MAX_ROW_ID:
        return None
    return await session.get(Submission, submission_id)


async def staff_submission(
    session: AsyncSession, viewer: Viewer, submission_id: int, *, organiser: bool = False
) -> tuple[Submission, Challenge]:
    """The submission and its challenge, if the viewer is that challenge's staff (an organiser, if
    asked: a judge is told 403); to anyone else, its own team included, it is not found."""
    submission = await find_submission(session, submission_id)
    challenge = await session.get(Challenge, submission.challenge_id) if submission else None
    if submission is None or challenge is None:
        raise NotFound(f"no submission {submission_id} that you can see")
    try:
        await require_staff(session, viewer, challenge, organiser=organiser)
    except NotFound:
        raise NotFound(f"no submission {submission_id} that you can see") from None
    return submission, challenge


async def get_submission(session: AsyncSession, viewer: Viewer, submission_id: int) -> Submission:
    submission = await find_submission(session, submission_id)
    if submission is None or not await _visible(session, viewer, submission):
        raise NotFound(f"no submission {submission_id} that you can see")
    return submission


def kept_file(store: BlobStore, submission: Submission) -> Path:
    """Where the submission's uploaded file is; Gone when it could not be used and was not kept."""
    path = store.path(submission.sha256)
    if not path.is_file():
        why = (submission.error or "none recorded").splitlines()[0][:300]
        raise Gone(f"submission {submission.id}: the file was not kept, as it could not be used ({why})")
    return path


async def team_submissions(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> list[Submission]:
    member = await membership(session, viewer, challenge.id)
    if member is None:
        return []
    rows = await session.exec(
        select(Submission).where(Submission.team_id == member.team_id).order_by(col(Submission.id).desc())
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Filters:
    team: str | None = None  # the team's name
    status: Status | None = None
    kind: Kind | None = None


async def challenge_submissions(
    session: AsyncSession, viewer: Viewer, challenge: Challenge, filters: Filters, *, offset: int, limit: int
) -> list[Submission]:
    """Every submission to the challenge's staff (newest first, filtered, a page at a time); to a
    participant, their team's."""
    if not (await access_to(session, viewer, challenge.id)).is_staff:
        return (await team_submissions(session, viewer, challenge))[offset : offset + limit]
    if filters.team is not None and "\x00" in filters.team:
        raise BadRequest("team: a NUL character is not allowed")
    query = select(Submission).where(Submission.challenge_id == challenge.id)
    if filters.team is not None:
        team_ids = select(Team.id).where(Team.challenge_id == challenge.id, Team.name == filters.team)
        query = query.where(col(Submission.team_id).in_(team_ids))
    if filters.status is not None:
        query = query.where(Submission.status == filters.status)
    if filters.kind is not None:
        query = query.where(Submission.kind == filters.kind)
    rows = await session.exec(query.order_by(col(Submission.id).desc()).offset(offset).limit(limit))
    return list(rows)


def private_visible(access: Access, challenge: Challenge, now: datetime) -> bool:
    """The challenge's staff see private scores at any time; everyone else once they are revealed."""
    return access.is_staff or state_of(challenge, spec_of(challenge), now) is ChallengeState.REVEALED


def visible_metrics(metrics: dict[str, Any], show_private: bool, show_public: bool = True) -> dict[str, Any]:
    """A submission's stored metrics as its viewer may see them: the private subset's, overall and per
    group, only where private scores are visible; the public subset's only where its public score is
    (under the Ladder, of a released submission)."""
    hidden = {subset for subset, shown in (("private", show_private), ("public", show_public)) if not shown}
    if not hidden:
        return metrics
    visible = {k: v for k, v in metrics.items() if k not in hidden}
    if "groups" in visible:
        visible["groups"] = {k: v for k, v in visible["groups"].items() if k not in hidden}
    return visible


async def set_final(session: AsyncSession, viewer: Viewer, submission_id: int, final: bool) -> Submission:
    """Mark or unmark one of the team's scored submissions as a final selection for the private board."""
    submission = await find_submission(session, submission_id)
    if submission is None or not await is_member(session, viewer, submission.team_id):
        raise NotFound(f"no submission {submission_id} of your team")
    challenge = await session.get(Challenge, submission.challenge_id)
    assert challenge is not None
    whole = spec_of(challenge)
    spec = whole.phase_spec(submission.phase)  # each phase has its own selections, until it closes
    now = utcnow()
    if state_of(challenge, whole, now) in (ChallengeState.CLOSED, ChallengeState.REVEALED):
        raise OutsideSchedule(f"{spec.slug!r} has closed: final selections can no longer change")
    if whole.phases and spec.schedule.is_closed(now):
        raise OutsideSchedule(
            f"phase {submission.phase!r} of {spec.slug!r} has closed: its final selections can no longer change"
        )
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
            .where(Submission.team_id == team_id, Submission.phase == submission.phase, col(Submission.final))
        )
        limit = spec.limits.final_selections
        if (await session.exec(chosen)).one() >= limit:
            await session.rollback()
            raise Conflict(f"your team has already selected {limit} final submission(s); unselect one first")
    submission.final = final
    await session.commit()
    return submission


async def is_member(session: AsyncSession, viewer: Viewer, team_id: int) -> bool:
    member = (
        await session.exec(select(Member).where(Member.team_id == team_id, Member.user_id == viewer.id))
    ).first()
    return member is not None
