"""Appending to a challenge's submission record, and reading it back (core.chain)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.chain import GENESIS, Record
from core.models import Challenge, ChallengeChain, Submission


async def _take_head(session: AsyncSession, challenge_id: int) -> tuple[int, str] | None:
    """Lengthen the chain by one under its row lock (a write lock on SQLite): the new length and the
    head before it. None if the challenge has no chain row yet."""
    result = await session.exec(
        update(ChallengeChain)  # type: ignore[call-overload]
        .where(col(ChallengeChain.challenge_id) == challenge_id)
        .values(length=col(ChallengeChain.length) + 1)
        .returning(col(ChallengeChain.length), col(ChallengeChain.head))
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


async def append(session: AsyncSession, slug: str, submission: Submission) -> Record:
    """Link a flushed submission into its challenge's record, in the caller's transaction: the row
    and its link are committed together or not at all, one writer per challenge at a time."""
    assert submission.id is not None
    taken = await _take_head(session, submission.challenge_id)
    if taken is None:
        try:
            async with session.begin_nested():
                session.add(ChallengeChain(challenge_id=submission.challenge_id, length=0, head=GENESIS))
        except IntegrityError:
            pass  # another upload made it first
        taken = await _take_head(session, submission.challenge_id)
        assert taken is not None
    seq, previous = taken
    record = Record(
        slug, seq, submission.id, submission.team_id, submission.sha256, submission.size,
        submission.created_at, previous,
    )  # fmt: skip
    submission.chain_seq, submission.chain_prev, submission.chain_hash = seq, previous, record.hash()
    await session.exec(
        update(ChallengeChain)  # type: ignore[call-overload]
        .where(col(ChallengeChain.challenge_id) == submission.challenge_id)
        .values(head=submission.chain_hash)
    )
    return record


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
