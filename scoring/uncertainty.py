"""How sure a board is: bootstrap intervals of each entry's score, statistical ties with the leader,
and rank intervals.

Paired bootstrap over the test rows: B resamples of a subset's rows (drawn with replacement, seeded
by the challenge and the subset), the same resamples for every team, so that two teams' scores on
one resample are compared on the same rows. From each entry's B scores:

- its 95 % interval: the 2.5th and 97.5th percentiles;
- tied with the leader: the 95 % interval of the paired difference (leader − entry, oriented so that
  positive means the leader is better) contains 0, i.e. a two-sided paired bootstrap test at α = 0.05
  does not tell them apart;
- its rank interval: the 2.5th and 97.5th percentiles of its rank over the resamples.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from scoring.metrics import Metric

RESAMPLES = 1000
ALPHA = 0.05
_CHUNK = 100  # resamples drawn at once: bounds memory at _CHUNK × rows indices


def resample_seed(seed: str, subset: str) -> int:
    """The generator seed of a challenge's subset ("public" or "private"): stable across processes."""
    return int.from_bytes(hashlib.sha256(f"bootstrap:{seed}:{subset}".encode()).digest()[:8], "big")


def resamples(rows: int, seed: int, count: int = RESAMPLES) -> Iterator[np.ndarray]:
    """Row indices of each resample, in chunks (m, rows); the chunks concatenated equal one draw of
    `numpy.random.default_rng(seed).integers(0, rows, size=(count, rows))`."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < count:
        size = min(_CHUNK, count - done)
        yield rng.integers(0, rows, size=(size, rows))
        done += size


def _binary_auc(positive: np.ndarray, score: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """ROC AUC on each resample at once: the Mann-Whitney statistic with each row counted as often as
    it is drawn (ties half), from one sort of the scores: per resample, the positives and negatives
    drawn at each distinct score, then negatives below each one by a running sum."""
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    level = np.empty(len(score), dtype=np.intp)  # each row's place among the distinct scores
    level[order] = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    levels = int(level.max()) + 1
    m = len(indices)
    keys = (level[indices] + (np.arange(m) * levels)[:, None]).ravel()
    drawn = np.bincount(keys, minlength=m * levels).reshape(m, levels)
    pos = np.bincount(keys, weights=positive[indices].ravel(), minlength=m * levels).reshape(m, levels)
    neg = drawn - pos
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / pairs, math.nan)


def bootstrap_scores(
    metric: Metric,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: Sequence[Any],
    seed: int,
    count: int = RESAMPLES,
) -> np.ndarray:
    """The metric on each resample of these rows (NaN where it is undefined on a resample)."""
    binary_auc = metric.name == "roc_auc" and len(classes) == 2 and y_pred.ndim == 2
    scores = []
    for indices in resamples(len(y_true), seed, count):
        if binary_auc:
            scores.append(_binary_auc(y_true == classes[-1], y_pred[:, -1], indices))
        else:  # the metric itself on each resample: exact for any metric, slower
            scores.append(np.array([metric(y_true[i], y_pred[i], classes) for i in indices]))
    return np.concatenate(scores)


@dataclass(frozen=True, slots=True)
class EntryUncertainty:
    low: float | None  # the score's 95 % interval
    high: float | None
    tied_with_leader: bool  # the leader itself: True
    rank_low: int  # the rank's 95 % interval (1 = first)
    rank_high: int


def _percentile(values: np.ndarray, q: float) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if len(finite) else None


def board_uncertainty(scores: np.ndarray, higher_is_better: bool) -> list[EntryUncertainty]:
    """For a board's entries in rank order, each row of `scores` (entries × resamples) their bootstrap
    scores on the same resamples: intervals, ties with the leader (row 0), rank intervals."""
    if len(scores) == 0:
        return []
    low_q, high_q = 100 * ALPHA / 2, 100 * (1 - ALPHA / 2)
    # Oriented so that larger is better; an undefined score ranks last on its resample.
    oriented = scores if higher_is_better else -scores
    defined = np.isfinite(scores)
    floor = oriented[defined].min() - 1 if defined.any() else 0.0  # below every defined score
    better = np.where(defined, oriented, floor)
    # Rank on each resample: 1 + how many entries did strictly better (ties share the better rank).
    ranks = rankdata(-better, method="min", axis=0)
    leader = better[0]
    result = []
    for row, entry in enumerate(scores):
        difference = leader - better[row]
        tied = row == 0 or float(np.percentile(difference, low_q)) <= 0 <= float(
            np.percentile(difference, high_q)
        )
        result.append(
            EntryUncertainty(
                low=_percentile(entry, low_q),
                high=_percentile(entry, high_q),
                tied_with_leader=tied,
                rank_low=int(np.floor(np.percentile(ranks[row], low_q))),
                rank_high=int(np.ceil(np.percentile(ranks[row], high_q))),
            )
        )
    return result
