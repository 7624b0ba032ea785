"""Removing stored files that nothing references: uploads whose row was never written (a crash
between storing and committing), and partial files of uploads that were cut off.

Only files older than a grace period go: an upload puts its file in place just before it commits
its row, so a young unreferenced file may be about to be referenced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import REFUSED_UPLOADS, Baseline, ChallengeFile, Submission
from core.storage import INCOMING_PREFIX, BlobStore

log = logging.getLogger(__name__)

_BATCH = 500


def _old_files(store: BlobStore, cutoff: float) -> Iterator[Path]:
    if not store.root.is_dir():
        return
    for path in store.root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                yield path
        except OSError:  # removed meanwhile
            continue


# Every column that names a stored file: a file none of them names is an orphan.
BLOB_COLUMNS = (
    Submission.sha256,
    Submission.predictions_sha256,
    Submission.details_sha256,
    ChallengeFile.sha256,
    Baseline.sha256,
)


async def _referenced(session: AsyncSession, digests: list[str]) -> set[str]:
    """The digests some row still needs: a refused upload's own row does not (its bytes are not kept)."""
    found: set[str] = set()
    for column in BLOB_COLUMNS:
        query = select(column).where(col(column).in_(digests))
        if column is Submission.sha256:
            failure = col(Submission.failure)
            query = query.where(failure.is_(None) | failure.not_in(REFUSED_UPLOADS))
        found |= {d for d in await session.exec(query) if d}
    return found


async def drop_refused_upload(session: AsyncSession, store: BlobStore, sha256: str) -> bool:
    """Remove the bytes of an upload that could not be used, unless another row needs them (the same
    file sent again and waiting, a challenge's file sent by mistake). Its row keeps the digest, size
    and error. Whether it was removed; the caller has committed the refusal."""
    needed = await _referenced(session, [sha256])
    # End the read-only transaction with a commit, not a rollback: a rollback expires what the
    # session loaded, the worker's cached challenge files among them, and the next submission of
    # that challenge then failed on its detached files.
    await session.commit()
    if needed:
        return False
    store.path(sha256).unlink(missing_ok=True)
    return True


async def sweep_orphans(session: AsyncSession, store: BlobStore, *, older_than: timedelta) -> int:
    """Delete old files of the store that no submission or challenge file references; returns how many."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    files = _old_files(store, cutoff)
    while batch := list(islice(files, _BATCH)):
        partial = [p for p in batch if p.name.startswith(INCOMING_PREFIX)]
        blobs = {p.name: p for p in batch if len(p.name) == 64}  # a digest: never a partial's name
        keep = await _referenced(session, list(blobs)) if blobs else set()
        for path in [*partial, *(p for name, p in blobs.items() if name not in keep)]:
            path.unlink(missing_ok=True)
            removed += 1
    await session.rollback()  # read-only; end the transaction
    if removed:
        log.warning("removed %d stored file(s) that nothing references", removed)
    return removed
