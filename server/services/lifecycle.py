"""A challenge's life as its staff drive it: created from a bundle as a draft, edited, published,
closed, revealed, deleted. Every step is checked here and written to the audit log with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from challenges.spec import ONE_PHASE, ChallengeSpec
from core.best import rules_changed
from core.challenges import spec_of
from core.lifecycle import state_of
from core.models import (
    Challenge,
    ChallengeFile,
    ChallengeStaff,
    ChallengeState,
    Role,
    StaffRole,
    Submission,
    utcnow,
)
from server.errors import Conflict, Forbidden, ProblemAt
from server.services import audit
from server.services.accounts import Viewer
from server.services.bundles import check_spec, invalid
from server.services.challenges import challenge_files, find_challenge, write_bundle
from server.services.stored_bundles import StoredBundle


async def create_challenge(session: AsyncSession, viewer: Viewer, bundle: StoredBundle) -> Challenge:
    """A new draft from a validated bundle; its creator becomes its first organiser."""
    if viewer.role not in (Role.ADMIN, Role.ORGANISER):
        raise Forbidden("only organisers create challenges; ask an admin to make you one")
    slug = bundle.spec.slug
    if await find_challenge(session, slug) is not None:
        raise Conflict(f"slug: {slug!r} is taken; change `slug` in challenge.yaml")
    challenge = await write_bundle(session, bundle, None, state=ChallengeState.DRAFT)
    assert challenge.id is not None
    challenge.created_by = viewer.id
    session.add(ChallengeStaff(challenge_id=challenge.id, user_id=viewer.id, role=StaffRole.ORGANISER))
    audit.record(session, viewer, challenge, "challenge.create", slug, None, _summary(challenge))
    try:
        await session.commit()
    except IntegrityError:  # the same slug created at the same moment
        await session.rollback()
        raise Conflict(f"slug: {slug!r} is taken; change `slug` in challenge.yaml") from None
    return challenge


# What the scores depend on, besides the labels and scorer files: a change to any means a rescore.
SCORING_FIELDS = (
    "metric", "extra_metrics", "id_column", "target_column", "public_fraction", "split_seed", "split_column",
    "prediction",
    "higher_is_better", "scorer", "groups", "rank_by", "program",
)  # fmt: skip
SCORING_FILES = (
    FileRole.TEST_LABELS,
    FileRole.SCORER,
    FileRole.REFERENCE,
    FileRole.PROGRAM,
    FileRole.INGESTION,  # what a code submission's run produces depends on these two as well
    FileRole.INPUT_DATA,
)


async def replace_bundle(
    session: AsyncSession, viewer: Viewer, challenge: Challenge, bundle: StoredBundle
) -> list[str]:
    """Put a new bundle in place of the current one (same slug); returns what changed that the scores
    depend on (empty: no rescore needed). The caller starts the rescore once this is committed."""
    if bundle.spec.slug != challenge.slug:
        problem = ProblemAt("slug", f"the bundle is for {bundle.spec.slug!r}, not {challenge.slug!r}")
        raise invalid("bundle: for another challenge", [problem])
    old_spec = spec_of(challenge)
    old_files = {_file_key(f): f.sha256 for f in await challenge_files(session, challenge)}
    new_files = {_key(f.phase, f.role.value): f.sha256 for f in bundle.files}
    changed = []
    for phase in bundle.spec.phase_keys:  # each phase is scored by its own fields and files
        where = "" if phase == ONE_PHASE else f"phases.{phase}: "
        before = old_spec.phase_spec(phase).model_dump(mode="json") if phase in old_spec.phase_keys else {}
        after = bundle.spec.phase_spec(phase).model_dump(mode="json")
        changed += [f"{where}{f}" for f in SCORING_FIELDS if before.get(f) != after.get(f)]
        changed += [
            f"{where}data.{r.value}"
            for r in SCORING_FILES
            if old_files.get(_key(phase, r.value)) != new_files.get(_key(phase, r.value))
        ]
    if changed and state_of(challenge, old_spec, utcnow()) is ChallengeState.REVEALED:
        # The private board is the contest's result once revealed: scores do not move under it.
        raise Conflict(
            f"{challenge.slug!r}: its private board is revealed, and this bundle changes what the scores "
            f"depend on ({', '.join(changed)}); the results stand. Fix what the text, schedule or limits "
            "say with a bundle that changes none of these, or make a new challenge"
        )
    await write_bundle(session, bundle, challenge)
    files_changed = sorted(
        r for r in old_files.keys() | new_files.keys() if old_files.get(r) != new_files.get(r)
    )
    audit.record(
        session,
        viewer,
        challenge,
        "bundle.replace",
        challenge.slug,
        {"files": {r: old_files.get(r) for r in files_changed}},
        {"files": {r: new_files.get(r) for r in files_changed}, "rescore_because": changed},
    )
    await session.commit()
    return changed


def _key(phase: str, role: str) -> str:
    return role if phase == ONE_PHASE else f"{phase}/{role}"


def _file_key(row: ChallengeFile) -> str:
    return _key(row.phase, row.role)


def _summary(challenge: Challenge) -> dict[str, Any]:
    return {"title": challenge.title, "state": challenge.state}


@dataclass(frozen=True, slots=True)
class Edit:
    """What `PATCH` may change: presentation, schedule and limits (not what the scores depend on)."""

    title: str | None = None
    description: str | None = None
    schedule: dict[str, Any] | None = None  # merged into the current one; a null value clears a time
    limits: dict[str, Any] | None = None  # merged into the current ones


async def edit_challenge(
    session: AsyncSession, viewer: Viewer, challenge: Challenge, edit: Edit
) -> Challenge:
    before = spec_of(challenge)
    current = before.model_dump(mode="json")
    raw = dict(current)
    if edit.title is not None:
        raw["title"] = edit.title
    if edit.description is not None:
        raw["description"] = edit.description
    for name in ("schedule", "limits"):
        changes = getattr(edit, name)
        if changes is not None:
            raw[name] = {**current[name], **changes}
    spec: ChallengeSpec = check_spec(raw)
    after = spec.model_dump(mode="json")
    changed = sorted(k for k in after if after[k] != current[k])
    if changed:
        challenge.spec = after
        challenge.title = spec.title
        challenge.updated_at = utcnow()
        assert challenge.id is not None
        await rules_changed(session, challenge.id, before, spec)
        audit.record(
            session,
            viewer,
            challenge,
            "challenge.edit",
            ", ".join(changed),
            {k: current[k] for k in changed},
            {k: after[k] for k in changed},
        )
        await session.commit()
    return challenge


async def _move(
    session: AsyncSession,
    viewer: Viewer,
    challenge: Challenge,
    allowed: ChallengeState,
    to: ChallengeState,
    how: str,
) -> Challenge:
    now = utcnow()
    state = state_of(challenge, spec_of(challenge), now)
    if state is not allowed:
        raise Conflict(f"{challenge.slug!r} is {state.value}; only a {allowed.value} challenge can be {how}")
    before = {"state": state.value}
    challenge.state = to
    if to is ChallengeState.CLOSED:
        challenge.closed_at = now
    if to is ChallengeState.REVEALED:
        challenge.revealed_at = now
    challenge.updated_at = now
    audit.record(
        session, viewer, challenge, f"challenge.{to.value}", challenge.slug, before, {"state": to.value}
    )
    await session.commit()
    return challenge


Step = Callable[[AsyncSession, Viewer, Challenge], Awaitable[Challenge]]  # publish, close or reveal


async def publish(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> Challenge:
    return await _move(
        session, viewer, challenge, ChallengeState.DRAFT, ChallengeState.PUBLISHED, "published"
    )


async def close(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> Challenge:
    return await _move(session, viewer, challenge, ChallengeState.PUBLISHED, ChallengeState.CLOSED, "closed")


async def reveal(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> Challenge:
    return await _move(session, viewer, challenge, ChallengeState.CLOSED, ChallengeState.REVEALED, "revealed")


async def delete_challenge(session: AsyncSession, viewer: Viewer, challenge: Challenge) -> None:
    """Only a draft, or a challenge no participant has submitted to: nobody's work is thrown away."""
    participants = (
        await session.exec(
            select(func.count())
            .select_from(Submission)
            .where(Submission.challenge_id == challenge.id, col(Submission.staff_test).is_(False))
        )
    ).one()
    if challenge.state != ChallengeState.DRAFT and participants:
        raise Conflict(
            f"{challenge.slug!r} has {participants} participant submission(s); close it instead of deleting it"
        )
    audit.record(session, viewer, challenge, "challenge.delete", challenge.slug, _summary(challenge), None)
    await session.delete(challenge)
    await session.commit()
