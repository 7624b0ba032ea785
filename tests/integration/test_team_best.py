"""The stored best submission of each team, which the board reads instead of every submission."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import create_engine, create_sessionmaker
from core.models import Status, Submission, Team, TeamBest, User, utcnow
from core.settings import Settings
from runner.results import record_best
from tests.conftest import EXAMPLES
from tests.helpers import load_challenge


@pytest.mark.parametrize("higher_is_better", [True, False], ids=["higher", "lower"])
async def test_best_is_kept_by_score_then_by_the_earlier_submission(
    settings: Settings, higher_is_better: bool
) -> None:
    await load_challenge(settings, EXAMPLES / "tumour-detection")
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            user = User(username="ada", username_key="ada", password_hash="x")
            team = Team(challenge_id=1, name="ada", invite_code="c")
            session.add_all([user, team])
            await session.flush()
            t0 = utcnow()
            good, bad = (0.9, 0.5) if higher_is_better else (0.5, 0.9)
            plan = [(0.7, 0), (good, 1), (bad, 2), (good, 3)]  # the second `good` ties and comes later
            for score, minutes in plan:
                submission = Submission(
                    challenge_id=1, team_id=team.id, user_id=user.id, kind="predictions", file_format="csv",
                    filename="p.csv", sha256="0" * 64, size=1, status=Status.SCORED, public_score=score,
                    created_at=t0 + timedelta(minutes=minutes),
                )  # fmt: skip
                session.add(submission)
                await session.flush()
                await record_best(session, submission, higher_is_better=higher_is_better)
            await session.commit()
            best = await session.get(TeamBest, (team.id, "main"))
            assert best is not None
            assert (best.public_score, best.created_at) == (good, t0 + timedelta(minutes=1))
    finally:
        await engine.dispose()
