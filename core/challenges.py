"""Reading a challenge's record as both processes need it: its parsed spec and its stored files."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.bundle import FileRole
from challenges.spec import ChallengeSpec
from core.errors import Missing
from core.models import Challenge, ChallengeFile


@lru_cache(maxsize=256)
def _parse_spec(challenge_id: int, updated_at: str, raw: str) -> ChallengeSpec:
    return ChallengeSpec.model_validate_json(raw)


def spec_of(challenge: Challenge) -> ChallengeSpec:
    """The challenge's validated spec, parsed once per version of the row."""
    assert challenge.id is not None
    return _parse_spec(challenge.id, challenge.updated_at.isoformat(), json.dumps(challenge.spec))


def current_phase(challenge: Challenge, now: datetime) -> tuple[str, ChallengeSpec]:
    """The phase that takes submissions at `now` (the last one opened), and the challenge as it runs it."""
    spec = spec_of(challenge)
    phase = spec.phase_at(now)
    return phase, spec.phase_spec(phase)


class ChallengeFiles:
    """A challenge's stored files by role, read in one query (labels included: only the worker asks)."""

    def __init__(self, challenge_id: int, rows: list[ChallengeFile]) -> None:
        self.challenge_id = challenge_id
        self._by_role = {row.role: row for row in rows}

    @classmethod
    async def load(cls, session: AsyncSession, challenge_id: int, phase: str) -> ChallengeFiles:
        """The files of one phase of the challenge (each phase has its own)."""
        rows = await session.exec(
            select(ChallengeFile).where(
                ChallengeFile.challenge_id == challenge_id, ChallengeFile.phase == phase
            )
        )
        return cls(challenge_id, list(rows))

    def get(self, role: FileRole) -> ChallengeFile | None:
        return self._by_role.get(role.value)

    def __getitem__(self, role: FileRole) -> ChallengeFile:
        row = self.get(role)
        if row is None:
            raise Missing(f"challenge {self.challenge_id} has no {role.value} file")
        return row
