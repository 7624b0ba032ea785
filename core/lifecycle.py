"""Where a challenge is in its life: the state staff set, moved on by the schedule's close and reveal."""

from __future__ import annotations

from datetime import datetime

from challenges.spec import ChallengeSpec
from core.models import Challenge, ChallengeState


def state_of(challenge: Challenge, spec: ChallengeSpec, now: datetime) -> ChallengeState:
    stored = ChallengeState(challenge.state)
    if stored in (ChallengeState.DRAFT, ChallengeState.REVEALED):
        return stored
    closed = stored is ChallengeState.CLOSED or spec.schedule.is_closed(now)
    if not closed:
        return ChallengeState.PUBLISHED
    reveal = spec.schedule.reveal
    return ChallengeState.REVEALED if reveal is not None and now >= reveal else ChallengeState.CLOSED


def takes_submissions(state: ChallengeState, spec: ChallengeSpec, now: datetime) -> bool:
    return state is ChallengeState.PUBLISHED and spec.schedule.is_open(now)
