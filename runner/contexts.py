"""What scoring a challenge's uploads needs of its record (its phase's spec, files and environment),
read once per version of the challenge by each worker process instead of once per submission.

A challenge's row changes its `updated_at` with every change of its spec or files (core.challenges
keys its parsed spec the same way), so an entry is used only while the version a claim read is its own.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.challenges import ChallengeFiles, spec_of
from core.models import Challenge, ChallengeEnvironment, EnvironmentState


@dataclass(frozen=True, slots=True)
class ChallengeContext:
    """One phase of a challenge as its worker scores it."""

    challenge_id: int
    slug: str
    version: datetime  # the challenge row's updated_at this was read at
    spec: ChallengeSpec  # the phase's, with the challenge's own runtime image once it is ready
    files: ChallengeFiles
    # The challenge's own environment: its lock once ready; not ready while it is being built.
    environment_lock: str | None
    environment_ready: bool

    @property
    def builtin_scoring(self) -> bool:
        """Scored by the built-in metrics alone: neither a scorer nor a scoring program, so no
        environment (which changes without the challenge's version) matters to a prediction file."""
        return self.spec.scorer is None and self.spec.program is None


async def load_context(session: AsyncSession, challenge_id: int, phase: str) -> ChallengeContext:
    challenge = await session.get(Challenge, challenge_id)
    assert challenge is not None
    spec = spec_of(challenge).phase_spec(phase)
    environment = await session.get(ChallengeEnvironment, challenge_id)
    ready = environment is None or environment.state == EnvironmentState.READY
    if environment is not None and ready:
        spec = spec.model_copy(update={"runtime_image": environment.image})
    return ChallengeContext(
        challenge_id=challenge_id,
        slug=challenge.slug,
        version=challenge.updated_at,
        spec=spec,
        files=await ChallengeFiles.load(session, challenge_id, phase),
        environment_lock=environment.lock if environment is not None and ready else None,
        environment_ready=ready,
    )


class Contexts:
    """A worker's challenge contexts for prediction files scored by the built-in metrics, the most
    recently used kept."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, str], ChallengeContext] = OrderedDict()

    async def for_prediction_file(
        self, session: AsyncSession, challenge_id: int, phase: str, version: datetime
    ) -> ChallengeContext:
        """The context at `version` (or newer, read now if this one is not held)."""
        key = (challenge_id, phase)
        held = self._entries.get(key)
        if held is not None and held.version == version:
            self._entries.move_to_end(key)
            return held
        context = await load_context(session, challenge_id, phase)
        if context.builtin_scoring:
            self._entries[key] = context
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return context
