"""The Ladder on a challenge's public board (`public_board: ladder`): when a team's submission is scored,
it is released (its public score shown to the team and on the public board) only if it beats the team's
released submission by the rule of scoring.ladder, on the public rows' per-row losses.

Part of the scoring transaction, under the team's row lock: two workers scoring one team's submissions
decide one after the other, each against the release the other may just have made.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import numpy as np
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.best import rankable
from core.locks import lock_team
from core.models import Submission
from core.storage import BlobStore
from runner.kept import KEPT_COLUMNS, Kept
from scoring.ladder import beats, row_losses, run_ladder
from scoring.truth import GroundTruth


def public_losses(spec: ChallengeSpec, truth: GroundTruth, predictions: np.ndarray) -> np.ndarray:
    return row_losses(spec.metric, truth.y[truth.public], predictions[truth.public])


async def released_entry(
    session: AsyncSession, spec: ChallengeSpec, challenge_id: int, phase: str, team_id: int
) -> Kept | None:
    """The team's current release: its best released submission still on the board (each release beat
    the one before it, so the best is the latest, unless that one was since disqualified)."""
    score = col(Submission.public_score)
    row = (
        await session.exec(
            select(*KEPT_COLUMNS)
            .where(
                *rankable(challenge_id, phase, spec.board_rules),
                Submission.team_id == team_id,
                col(Submission.released),
            )
            .order_by(score.desc() if spec.primary_metric.higher_is_better else score.asc())
            .limit(1)
        )
    ).first()
    return Kept(*row) if row is not None else None


async def ladder_step(
    session: AsyncSession,
    store: BlobStore,
    spec: ChallengeSpec,
    truth: GroundTruth,
    *,
    challenge_id: int,
    phase: str,
    team_id: int,
    submission_id: int,
    predictions: np.ndarray,
) -> bool:
    """Release the newly scored submission if it beats the team's release (or there is none yet); the
    caller commits. True if it was released."""
    await lock_team(session, team_id)
    current = await released_entry(session, spec, challenge_id, phase, team_id)
    if current is not None:
        released_losses = public_losses(spec, truth, current.predictions(store, spec, truth))
        if not beats(public_losses(spec, truth, predictions), released_losses):
            return False
    await session.exec(update(Submission).where(col(Submission.id) == submission_id).values(released=True))
    return True


async def replay(
    session: AsyncSession,
    store: BlobStore,
    spec: ChallengeSpec,
    truth: GroundTruth,
    challenge_id: int,
    phase: str,
) -> int:
    """Run every team's scored submissions of a phase (`spec`: its) through the Ladder again, in the order they were sent (after
    a rescore: the releases were decided on the old labels or split); the caller commits. The number of
    releases."""
    rows = await session.exec(
        select(Submission.team_id, *KEPT_COLUMNS)
        .where(*rankable(challenge_id, phase, spec.board_rules))
        .order_by(col(Submission.team_id), col(Submission.created_at), col(Submission.id))
    )
    released: set[int] = set()
    for _, team_rows in groupby(rows, key=itemgetter(0)):
        kept = [Kept(*row[1:]) for row in team_rows]
        losses = [public_losses(spec, truth, k.predictions(store, spec, truth)) for k in kept]
        released |= {kept[step.released_index].id for step in run_ladder(losses)}
    await session.exec(
        update(Submission)
        .where(
            col(Submission.challenge_id) == challenge_id,
            col(Submission.phase) == phase,
            col(Submission.released),
        )
        .values(released=False)
    )
    if released:
        await session.exec(update(Submission).where(col(Submission.id).in_(released)).values(released=True))
    return len(released)
