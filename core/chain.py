"""The submission record's links (each challenge's uploads as a hash chain): kept in the participants'
client package, which the server shares so that both hash and check records alike."""

from __future__ import annotations

from riality_client.record import GENESIS, Break, Record, canonical, timestamp, walk
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import ChallengeChain, Submission

__all__ = ["GENESIS", "Break", "Record", "append", "canonical", "timestamp", "walk"]


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
