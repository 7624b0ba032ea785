"""Board uncertainty end to end: the worker's pass after the scores writes each entry's interval, its
tie with the leader and its rank interval; the API, the page and the projector show them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete
from sqlmodel import select

from challenges.bundle import load_bundle
from core.db import create_engine, create_sessionmaker
from core.models import BootstrapScores, EntryUncertainty
from core.settings import Settings
from core.storage import BlobStore
from runner import uncertainty
from runner.truths import TruthCache
from scoring.uncertainty import resample_seed
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, upload

SLUG = "tumour-detection"
LABELS = pd.read_csv(EXAMPLES / SLUG / "hidden" / "labels.csv", dtype={"id": str})


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney with ties half, with numpy alone (the reference of the test)."""
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


async def test_the_pass_marks_ties_with_the_leader_and_rank_intervals(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    truth = load_bundle(EXAMPLES / SLUG).truth
    public_ids = set(truth.ids[truth.public])
    perfect = LABELS.assign(diagnosis=LABELS["diagnosis"].astype(float))
    # One public row the other way round: within noise of the perfect entry.
    first_public = perfect.index[perfect["id"].isin(public_ids)][0]
    nearly = perfect.copy()
    nearly.loc[first_public, "diagnosis"] = 1 - nearly.loc[first_public, "diagnosis"]
    far = perfect.assign(diagnosis=np.random.default_rng(1).random(len(perfect)))  # chance level
    for name, frame in (("bob", perfect), ("ada", nearly), ("cyrille", far)):
        assert (await upload(client, await login(client, name), SLUG, csv_bytes(frame))).status_code == 202
    await drain_queue(settings)  # scores, then the pass queued after them

    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["uncertainty_at"] is not None and board["resamples"] == 1000 and board["alpha"] == 0.05
    entries = {e["team"]: e for e in board["entries"]}
    assert [e["team"] for e in board["entries"]] == ["bob", "ada", "cyrille"]
    assert entries["bob"]["tied_with_leader"] and entries["ada"]["tied_with_leader"]
    assert entries["cyrille"]["tied_with_leader"] is False
    assert entries["bob"]["ci_low"] == entries["bob"]["ci_high"] == 1.0  # perfect on every resample
    assert (entries["bob"]["rank_low"], entries["cyrille"]["rank_low"], entries["cyrille"]["rank_high"]) == (
        1,
        3,
        3,
    )
    assert entries["ada"]["rank_low"] == 1 and entries["ada"]["rank_high"] == 2

    # cyrille's interval, from the same resamples computed here with numpy alone.
    rows = truth.public
    positive = truth.y[rows] == 1
    score = far.set_index("id").loc[list(truth.ids[rows]), "diagnosis"].to_numpy()
    indices = np.random.default_rng(resample_seed(SLUG, "public")).integers(
        0, rows.sum(), size=(1000, rows.sum())
    )
    reference = np.array([_auc(positive[i], score[i]) for i in indices])
    low, high = np.percentile(reference[np.isfinite(reference)], [2.5, 97.5])
    assert (
        abs(entries["cyrille"]["ci_low"] - low) < 1e-12 and abs(entries["cyrille"]["ci_high"] - high) < 1e-12
    )

    page = (await client.get(f"/c/{SLUG}")).text
    assert "data-tied" in page and "95 %" in page
    screen = (await client.get(f"/c/{SLUG}/screen")).text
    assert 'class="tied"' in screen


async def test_a_pass_computes_a_few_entries_the_top_first_and_leaves_the_rest_for_the_next(
    settings: Settings, client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uncertainty, "ENTRIES_PER_PASS", 1)
    await load_challenge(settings, EXAMPLES / SLUG)
    for seed, name in enumerate(("ada", "bob", "cyrille")):
        guess = LABELS.assign(diagnosis=np.random.default_rng(seed).random(len(LABELS)))
        assert (await upload(client, await login(client, name), SLUG, csv_bytes(guess))).status_code == 202
    await drain_queue(settings)  # each pass queues the next while entries are left
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
    assert all(e["ci_low"] is not None for e in board), board

    engine = create_engine(settings.database)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            await session.exec(delete(BootstrapScores))
            await session.commit()
        truths = TruthCache(BlobStore(settings.blobs_dir))
        left = [(await uncertainty.uncertainty_pass(sessions, truths, SLUG)) for _ in range(3)]
        assert [p.remaining if p else None for p in left] == [2, 1, 0]
        async with sessions() as session:
            rows = (
                await session.exec(select(EntryUncertainty).where(EntryUncertainty.board == "public"))
            ).all()
        leader = board[0]["team"]
        assert len(rows) == 3 and {r.rank_low for r in rows} >= {1}, (leader, rows)
    finally:
        await engine.dispose()
