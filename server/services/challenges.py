"""Challenges: importing validated bundles, and reading challenges and their public files."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import Bundle, FileRole
from challenges.spec import SLUG_PATTERN
from core.models import Challenge, ChallengeFile, utcnow
from core.storage import BlobStore
from server.errors import NotFound


@dataclass(frozen=True, slots=True)
class ImportResult:
    slug: str
    created: bool


async def import_bundle(session: AsyncSession, store: BlobStore, bundle: Bundle) -> ImportResult:
    """Create or update a challenge from a validated bundle, in one transaction.

    The files go to the content-addressed store first (harmless if the transaction then fails:
    nothing points at them); the challenge row and its file rows are written together.
    """
    digests = {f.role: (store.put_bytes(f.data), len(f.data)) for f in bundle.files}
    spec = bundle.spec
    columns = list(spec.expectation(bundle.truth).columns)
    challenge = (await session.exec(select(Challenge).where(Challenge.slug == spec.slug))).first()
    created = challenge is None
    if challenge is None:
        challenge = Challenge(
            slug=spec.slug, title=spec.title, spec=spec.model_dump(mode="json"), columns=columns
        )
        session.add(challenge)
        await session.flush()
    else:
        challenge.title = spec.title
        challenge.spec = spec.model_dump(mode="json")
        challenge.columns = columns
        challenge.updated_at = utcnow()
    assert challenge.id is not None
    existing = {
        f.role: f
        for f in (await session.exec(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id)))
    }
    for file in bundle.files:
        sha256, size = digests[file.role]
        row = existing.pop(file.role.value, None) or ChallengeFile(
            challenge_id=challenge.id, role=file.role.value
        )
        row.name, row.sha256, row.size, row.public = file.name, sha256, size, file.public
        session.add(row)
    for stale in existing.values():
        await session.delete(stale)
    await session.commit()
    return ImportResult(slug=spec.slug, created=created)


async def list_challenges(session: AsyncSession) -> list[Challenge]:
    return list(await session.exec(select(Challenge).order_by(Challenge.slug)))


async def get_challenge(session: AsyncSession, slug: str) -> Challenge:
    # A slug no challenge can have is not looked up (PostgreSQL refuses text holding a NUL).
    challenge = None
    if re.match(SLUG_PATTERN, slug):
        challenge = (await session.exec(select(Challenge).where(Challenge.slug == slug))).first()
    if challenge is None:
        raise NotFound(f"no challenge {slug[:80]!r}")
    return challenge


async def challenge_files(session: AsyncSession, challenge: Challenge) -> list[ChallengeFile]:
    rows = await session.exec(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id))
    return list(rows)


async def public_file(session: AsyncSession, challenge: Challenge, name: str) -> ChallengeFile:
    """A downloadable file by its public name; labels are never found here."""
    for row in await challenge_files(session, challenge):
        if row.name == name and row.public and row.role != FileRole.TEST_LABELS:
            return row
    raise NotFound(f"challenge {challenge.slug!r} has no public file {name!r}")
