"""Appending to a challenge's submission record, and reading it back (core.chain)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.chain import GENESIS, Record, append
from core.models import Challenge, ChallengeChain, Submission

__all__ = ["append", "chain_entries", "chain_head", "record_of"]


def record_of(slug: str, submission: Submission) -> Record:
    """The submission's record as its row now says (a changed row gives another hash)."""
    assert submission.id is not None and submission.chain_seq is not None and submission.chain_prev
    return Record(
        slug, submission.chain_seq, submission.id, submission.team_id, submission.sha256, submission.size,
        submission.created_at, submission.chain_prev,
    )  # fmt: skip


async def chain_entries(session: AsyncSession, challenge: Challenge) -> list[dict[str, Any]]:
    """The record as served: each submission's fields as its row says now, with the hash stored when it
    was linked; in chain order, then any submission outside the chain (which core.chain.walk reports)."""
    rows = await session.exec(
        select(Submission)
        .where(Submission.challenge_id == challenge.id)
        .order_by(col(Submission.chain_seq).is_(None), col(Submission.chain_seq), col(Submission.id))
    )
    entries = []
    for row in rows:
        if row.chain_seq is None or row.chain_prev is None:
            entries.append({"seq": None, "submission_id": row.id})
            continue
        entries.append({**record_of(challenge.slug, row).fields(), "hash": row.chain_hash})
    return entries


async def chain_head(session: AsyncSession, challenge_id: int) -> tuple[int, str]:
    row = await session.get(ChallengeChain, challenge_id)
    return (0, GENESIS) if row is None else (row.length, row.head)
