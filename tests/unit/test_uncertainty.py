"""Bootstrap intervals, ties with the leader and rank intervals against a reference computed here with
numpy alone, on a fixed seed; the fast ROC AUC path against the metric on each resample."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.metrics import get_metric
from scoring.uncertainty import PairedDraws, board_uncertainty, bootstrap_scores, resample_seed, resamples

rng = np.random.default_rng(11)
N = 400
Y = rng.integers(0, 2, N)
SEED = resample_seed("a-challenge", "public")


def guesses(accuracy: float, seed: int) -> np.ndarray:
    wrong = np.random.default_rng(seed).random(N) > accuracy
    return np.where(wrong, 1 - Y, Y).astype(np.intp)


def test_resamples_are_one_seeded_draw_in_chunks_and_differ_by_subset() -> None:
    chunks = np.concatenate(list(resamples(N, SEED, 250)))
    assert np.array_equal(chunks, np.random.default_rng(SEED).integers(0, N, size=(250, N)))
    assert resample_seed("a-challenge", "public") != resample_seed("a-challenge", "private")


def test_intervals_ties_and_rank_intervals_match_numpy() -> None:
    teams = {"leader": guesses(0.90, 1), "within_noise": guesses(0.895, 2), "far_behind": guesses(0.70, 3)}
    accuracy = get_metric("accuracy")
    matrix = np.stack(
        [bootstrap_scores(accuracy, Y, p, (0, 1), PairedDraws(N, SEED)) for p in teams.values()]
    )
    # The reference: the same resamples drawn at once, accuracy as a mean, percentiles by numpy.
    indices = np.random.default_rng(SEED).integers(0, N, size=(1000, N))
    reference = np.stack([(p[indices] == Y[indices]).mean(axis=1) for p in teams.values()])
    assert np.allclose(matrix, reference, rtol=0, atol=1e-12)
    ranks = 1 + (reference[None, :, :] > reference[:, None, :]).sum(axis=1)  # strictly better, per resample
    found = board_uncertainty(matrix, higher_is_better=True)
    for row, entry in enumerate(found):
        low, high = np.percentile(reference[row], [2.5, 97.5])
        assert (entry.low, entry.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
        assert entry.rank_low == int(np.floor(np.percentile(ranks[row], 2.5)))
        assert entry.rank_high == int(np.ceil(np.percentile(ranks[row], 97.5)))
        difference = reference[0] - reference[row]
        d_low, d_high = np.percentile(difference, [2.5, 97.5])
        assert entry.tied_with_leader == (row == 0 or d_low <= 0 <= d_high)
    assert [e.tied_with_leader for e in found] == [True, True, False]
    assert found[2].rank_low == found[2].rank_high == 3 and found[1].rank_low == 1


def test_for_a_loss_lower_is_better_and_an_undefined_score_ranks_last() -> None:
    scores = np.array([[1.0, 1.1, np.nan, 0.9], [2.0, 2.1, 1.9, 2.2]])
    found = board_uncertainty(scores, higher_is_better=False)
    assert found[0].low == pytest.approx(np.percentile([1.0, 1.1, 0.9], 2.5))
    # Where the leader is undefined the other entry is ahead: one resample in four is doubt enough.
    assert found[1].tied_with_leader and (found[1].rank_low, found[1].rank_high) == (1, 2)
    assert board_uncertainty(scores[:, [0, 1, 3]], higher_is_better=False)[1].tied_with_leader is False


@pytest.mark.parametrize(
    "score",
    [
        np.round(np.clip(rng.random(N) * 0.6 + Y * 0.3, 0, 1), 1),  # few distinct values: many ties
        rng.random(N) * 0.7 + Y * 0.2,  # every score distinct
        np.full(N, 0.5),  # one score for all: every pair tied
    ],
    ids=["ties", "distinct", "all tied"],
)
def test_the_fast_roc_auc_equals_the_metric_on_each_resample(score: np.ndarray) -> None:
    auc = get_metric("roc_auc")
    proba = np.column_stack([1 - score, score])
    draws = PairedDraws(N, SEED, count=200)
    fast = bootstrap_scores(auc, Y, proba, (0, 1), draws)
    indices = np.random.default_rng(SEED).integers(0, N, size=(200, N))
    slow = np.array([auc(Y[i], proba[i], (0, 1)) for i in indices])
    assert np.allclose(fast, slow, rtol=0, atol=1e-12)
    assert np.array_equal(bootstrap_scores(auc, Y, proba, (0, 1), draws), fast)  # the kept draws, again


def test_the_fast_roc_auc_is_undefined_on_a_resample_with_one_class() -> None:
    labels = np.r_[1, np.zeros(9, dtype=int)]
    score = np.linspace(1, 0, 10)  # the positive scored highest
    found = bootstrap_scores(
        get_metric("roc_auc"), labels, np.column_stack([1 - score, score]), (0, 1), PairedDraws(10, SEED)
    )
    drew_positive = (np.random.default_rng(SEED).integers(0, 10, size=(1000, 10)) == 0).any(axis=1)
    assert np.array_equal(np.isnan(found), ~drew_positive) and np.all(found[drew_positive] == 1.0)
