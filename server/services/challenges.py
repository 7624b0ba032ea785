"""Challenges: importing validated bundles, who sees which challenge, and reading their public files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from challenges.spec import SLUG_PATTERN, ChallengeSpec
from core.best import rules_changed
from core.challenges import spec_of
from core.models import (
    Baseline,
    BaselineState,
    Challenge,
    ChallengeFile,
    ChallengeStaff,
    ChallengeState,
    Role,
    StaffRole,
    Status,
    Submission,
    utcnow,
)
from core.queue import ArqQueue, baseline_version
from server.errors import Conflict, NotFound
from server.services import audit, environments
from server.services.accounts import Viewer
from server.services.staff import access_to
from server.services.stored_bundles import StoredBundle


@dataclass(frozen=True, slots=True)
class ImportResult:
    slug: str
    created: bool
    challenge_id: int


async def write_bundle(
    session: AsyncSession,
    bundle: StoredBundle,
    challenge: Challenge | None,
    *,
    state: ChallengeState = ChallengeState.PUBLISHED,
) -> Challenge:
    """Create (in `state`) or update a challenge from a validated bundle whose files are in the store
    already, in the caller's transaction: the challenge row and its file rows are written together."""
    spec = bundle.spec
    # A scoring program's challenge has no predictions table: its program reads the answers.
    columns = list(bundle.columns)
    group_sizes = bundle.group_sizes
    if challenge is None:
        challenge = Challenge(
            slug=spec.slug,
            title=spec.title,
            spec=spec.model_dump(mode="json"),
            columns=columns,
            group_sizes=group_sizes,
            import_report=list(bundle.report),
            state=state,
        )
        session.add(challenge)
        await session.flush()
    else:
        before = spec_of(challenge)
        assert challenge.id is not None
        if before.public_board != spec.public_board and await _has_scores(session, challenge.id):
            raise Conflict(
                f"{spec.slug!r}: public_board cannot change from {before.public_board} to "
                f"{spec.public_board} once submissions are scored (the Ladder's releases depend on every "
                "submission in the order it came); keep it, or make a new challenge"
            )
        await _phases_kept(session, challenge.id, spec)
        challenge.title = spec.title
        challenge.spec = spec.model_dump(mode="json")
        challenge.columns = columns
        challenge.group_sizes = group_sizes
        challenge.import_report = list(bundle.report)
        challenge.updated_at = utcnow()
        await rules_changed(session, challenge.id, before, spec)
    assert challenge.id is not None
    await environments.declare(session, challenge.id, spec)
    existing = {
        (f.phase, f.role): f
        for f in (await session.exec(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id)))
    }
    for file in bundle.files:
        row = existing.pop((file.phase, file.role.value), None) or ChallengeFile(
            challenge_id=challenge.id, phase=file.phase, role=file.role.value
        )
        row.name, row.sha256, row.size, row.public = file.name, file.sha256, file.size, file.public
        session.add(row)
    for stale in existing.values():
        await session.delete(stale)
    await _write_baselines(session, challenge.id, bundle)
    return challenge


async def _phases_kept(session: AsyncSession, challenge_id: int, spec: ChallengeSpec) -> None:
    """A new bundle keeps every phase that has submissions: they, and their boards, belong to it."""
    used = await session.exec(
        select(Submission.phase).where(Submission.challenge_id == challenge_id).distinct()
    )
    dropped = sorted(set(used) - set(spec.phase_keys))
    if dropped:
        raise Conflict(
            f"{spec.slug!r}: phase(s) {', '.join(dropped)} have submissions, and the new bundle has no such "
            f"phase (its phases: {', '.join(spec.phase_keys)}); keep their keys"
        )


async def _has_scores(session: AsyncSession, challenge_id: int) -> bool:
    scored = select(Submission.id).where(
        Submission.challenge_id == challenge_id, Submission.status == Status.SCORED
    )
    return (await session.exec(scored.limit(1))).first() is not None


async def _write_baselines(session: AsyncSession, challenge_id: int, bundle: StoredBundle) -> None:
    """The bundle's baselines, scored against its labels as they are now (a new bundle: scored again);
    a model or code one is queued for a worker (start_baselines, after the commit, or the reconciler)."""
    await session.exec(delete(Baseline).where(col(Baseline.challenge_id) == challenge_id))
    for baseline in bundle.baselines:
        row = Baseline(
            challenge_id=challenge_id,
            phase=baseline.phase,
            name=baseline.name,
            filename=baseline.filename,
            sha256=baseline.sha256,
            kind=baseline.kind,
            file_format=baseline.file_format,
            state=BaselineState.QUEUED if baseline.metrics is None else BaselineState.SCORED,
        )
        if baseline.metrics is not None:
            row.public_score = baseline.public_score
            row.private_score = baseline.private_score
            row.metrics = baseline.metrics
        session.add(row)


async def rerun_baselines(
    session: AsyncSession, queue: ArqQueue, viewer: Viewer, challenge: Challenge
) -> list[str]:
    """Run the challenge's model and code baselines again (organisers): after a failure, or once its
    environment changed. Their current scores stay on the boards until the new ones are in."""
    assert challenge.id is not None
    challenge_id, slug = challenge.id, challenge.slug  # read now: a rollback expires the row
    rerun = await session.exec(
        update(Baseline)
        .where(
            col(Baseline.challenge_id) == challenge_id,
            col(Baseline.kind) != "predictions",
            col(Baseline.state).in_([BaselineState.SCORED, BaselineState.FAILED]),
        )
        .values(state=BaselineState.QUEUED, error=None, updated_at=utcnow())
        .returning(col(Baseline.name))
    )
    names = sorted(rerun.scalars())
    if not names:
        await session.rollback()
        raise Conflict(
            f"{slug!r} has no model, code or program-scored baseline to run again (none, or all queued "
            "or running)"
        )
    audit.record(session, viewer, challenge, "baselines.rerun", ", ".join(names), None, None)
    await session.commit()
    await start_baselines(session, queue, challenge_id)
    return names


async def start_baselines(session: AsyncSession, queue: ArqQueue, challenge_id: int) -> None:
    """After the commit: hand the challenge's queued model and code baselines to the workers now."""
    for phase, name, version in await session.exec(
        select(Baseline.phase, Baseline.name, Baseline.updated_at).where(
            Baseline.challenge_id == challenge_id, Baseline.state == BaselineState.QUEUED
        )
    ):
        await queue.enqueue_baseline(challenge_id, phase, name, baseline_version(version))


async def import_bundle(session: AsyncSession, bundle: StoredBundle) -> ImportResult:
    """The operator's path (`riality challenge load`): create a published challenge, or update one
    in place whatever its state."""
    challenge = await find_challenge(session, bundle.spec.slug)
    created = challenge is None
    challenge = await write_bundle(session, bundle, challenge)
    assert challenge.id is not None
    challenge_id = challenge.id
    await session.commit()
    return ImportResult(slug=bundle.spec.slug, created=created, challenge_id=challenge_id)


async def find_challenge(session: AsyncSession, slug: str) -> Challenge | None:
    """Any challenge by its slug, whatever its state: for the callers that check visibility themselves."""
    # A slug no challenge can have is not looked up (PostgreSQL refuses text holding a NUL).
    if not re.match(SLUG_PATTERN, slug):
        return None
    return (await session.exec(select(Challenge).where(Challenge.slug == slug))).first()


async def get_challenge(session: AsyncSession, slug: str, viewer: Viewer | None = None) -> Challenge:
    """The challenge if the viewer may see it: a draft only to its staff, to others it does not exist."""
    challenge = await find_challenge(session, slug)
    hidden = challenge is not None and challenge.state == ChallengeState.DRAFT
    if hidden and not (await access_to(session, viewer, challenge.id if challenge else None)).is_staff:
        challenge = None
    if challenge is None:
        raise NotFound(f"no challenge {slug[:80]!r}")
    return challenge


async def list_challenges(session: AsyncSession, viewer: Viewer | None = None) -> list[Challenge]:
    """Every challenge but drafts, and the drafts the viewer is staff of."""
    query = select(Challenge).order_by(Challenge.slug)
    if viewer is None or viewer.role is not Role.ADMIN:
        staff_of = select(ChallengeStaff.challenge_id).where(
            ChallengeStaff.user_id == (viewer.id if viewer else -1)
        )
        query = query.where(
            or_(col(Challenge.state) != ChallengeState.DRAFT, col(Challenge.id).in_(staff_of))
        )
    return list(await session.exec(query))


async def staff_challenges(session: AsyncSession, viewer: Viewer) -> list[tuple[Challenge, StaffRole]]:
    """The challenges the viewer runs or judges (all of them, as organiser, for an admin)."""
    if viewer.role is Role.ADMIN:
        return [
            (c, StaffRole.ORGANISER) for c in await session.exec(select(Challenge).order_by(Challenge.slug))
        ]
    rows = await session.exec(
        select(Challenge, ChallengeStaff.role)
        .join(ChallengeStaff, col(ChallengeStaff.challenge_id) == Challenge.id)
        .where(ChallengeStaff.user_id == viewer.id)
        .order_by(Challenge.slug)
    )
    return [(c, StaffRole(role)) for c, role in rows]


async def challenge_files(
    session: AsyncSession, challenge: Challenge, phase: str | None = None
) -> list[ChallengeFile]:
    """The challenge's files: of one phase, or of all (None)."""
    query = select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id)
    if phase is not None:
        query = query.where(ChallengeFile.phase == phase)
    return list(await session.exec(query))


async def challenge_baselines(session: AsyncSession, challenge: Challenge) -> list[Baseline]:
    return list(await session.exec(select(Baseline).where(Baseline.challenge_id == challenge.id)))


# A public file's type by its name: the data are CSV; a starter kit is a script (shown as text, never run
# by a browser), a notebook or a zip.
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".ipynb": "application/x-ipynb+json",
    ".zip": "application/zip",
}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(PurePath(name).suffix.lower(), "application/octet-stream")


def phase_started(challenge: Challenge, phase: str) -> bool:
    """A phase's files are public once it opens (a final phase's test set is released with it)."""
    opens = spec_of(challenge).phase_spec(phase).schedule.opens
    return opens is None or opens <= utcnow()


async def public_files(
    session: AsyncSession, challenge: Challenge, phase: str, *, staff: bool
) -> list[ChallengeFile]:
    """The files of a phase anyone may download: none before the phase opens, but to its staff."""
    if not staff and not phase_started(challenge, phase):
        return []
    return [row for row in await challenge_files(session, challenge, phase) if row.public]


async def public_file(
    session: AsyncSession, challenge: Challenge, name: str, phase: str, *, staff: bool
) -> ChallengeFile:
    """A phase's downloadable file by its public name; labels are never found here."""
    for row in await public_files(session, challenge, phase, staff=staff):
        if row.name == name and row.role != FileRole.TEST_LABELS:
            return row
    if not phase_started(challenge, phase):
        raise NotFound(f"phase {phase!r} of {challenge.slug!r} has not opened: its files come with it")
    raise NotFound(f"challenge {challenge.slug!r} has no public file {name!r}")
