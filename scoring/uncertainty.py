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


KEEP_DRAWS_BYTES = 64 * 2**20  # draws kept for all the entries of a pass; a larger subset draws per entry


def _count_type(rows: int) -> np.dtype:
    """The smallest unsigned type that holds a row's count: a row is drawn at most `rows` times."""
    return np.min_scalar_type(rows)


def _counts(indices: np.ndarray, rows: int) -> np.ndarray:
    """How often each row is drawn in each resample of a chunk: (m, rows)."""
    m = len(indices)
    flat = (indices + (np.arange(m) * rows)[:, None]).ravel()
    return np.bincount(flat, minlength=m * rows).reshape(m, rows).astype(_count_type(rows))


class PairedDraws:
    """The paired resamples of one subset's rows, the same for every entry: drawn once for all the
    entries a pass scores (drawing them took a sixth of each entry's bootstrap), unless too large to keep."""

    def __init__(self, rows: int, seed: int, count: int = RESAMPLES) -> None:
        self.rows, self.seed, self.count = rows, seed, count
        self._kept: list[np.ndarray] | None = None

    def indices(self) -> Iterator[np.ndarray]:
        """Row indices of each resample, in chunks (m, rows)."""
        return resamples(self.rows, self.seed, self.count)

    def counts(self) -> Iterator[np.ndarray]:
        """How often each row is drawn in each resample, in chunks (m, rows), in the order of `indices`."""
        if self._kept is not None:
            return iter(self._kept)
        chunks = (_counts(indices, self.rows) for indices in self.indices())
        if self.rows * self.count * _count_type(self.rows).itemsize > KEEP_DRAWS_BYTES:
            return chunks
        self._kept = list(chunks)
        return iter(self._kept)


def _binary_auc(positive: np.ndarray, score: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC AUC on each resample at once: the Mann-Whitney statistic with each row counted as often as
    it is drawn (ties half), from one sort of the scores. Per resample, a running sum of the drawn
    negatives in score order gives, for each positive, the negatives below its score (`lo`) and those
    below or tied with it (`hi`): its wins are their mean."""
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    is_positive = positive[order]
    is_negative = ~is_positive
    drawn = counts.take(order, axis=1)
    new_level = np.r_[True, ordered[1:] != ordered[:-1]]
    level = np.cumsum(new_level) - 1  # each row's place among the distinct scores
    negatives_through = np.cumsum(is_negative)
    before_level = (negatives_through - is_negative)[new_level]  # negatives below each distinct score
    through_level = np.r_[before_level[1:], negatives_through[-1]]  # ... below it or at it
    running = np.zeros((len(counts), int(negatives_through[-1]) + 1), dtype=np.int64)
    np.cumsum(drawn[:, is_negative], axis=1, out=running[:, 1:])
    lo = before_level[level[is_positive]]
    hi = through_level[level[is_positive]]
    weight = drawn[:, is_positive].astype(np.float64)
    below = np.einsum("ij,ij->i", weight, running[:, lo])
    below_or_tied = below if np.array_equal(lo, hi) else np.einsum("ij,ij->i", weight, running[:, hi])
    pairs = weight.sum(axis=1) * running[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (below + below_or_tied) / (2 * pairs), math.nan)


def bootstrap_scores(
    metric: Metric, y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any], draws: PairedDraws
) -> np.ndarray:
    """The metric on each resample of these rows (NaN where it is undefined on a resample)."""
    if metric.name == "roc_auc" and len(classes) == 2 and y_pred.ndim == 2:
        positive = y_true == classes[-1]
        return np.concatenate([_binary_auc(positive, y_pred[:, -1], c) for c in draws.counts()])
    # The metric itself on each resample: exact for any metric, slower.
    return np.concatenate(
        [np.array([metric(y_true[i], y_pred[i], classes) for i in indices]) for indices in draws.indices()]
    )


@dataclass(frozen=True, slots=True)
class EntryUncertainty:
    low: float | None  # the score's 95 % interval
    high: float | None
    tied_with_leader: bool  # the leader itself: True
    rank_low: int  # the rank's 95 % interval (1 = first)
    rank_high: int


def _intervals(values: np.ndarray, low_q: float, high_q: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's percentiles over its finite values (NaN for a row with none): one call for the rows
    that are all finite, the usual case, since a per-row call costs about 1 ms on a board of 1,000."""
    finite = np.isfinite(values)
    whole = finite.all(axis=1)
    low = np.full(len(values), math.nan)
    high = np.full(len(values), math.nan)
    if whole.any():
        low[whole], high[whole] = np.percentile(values[whole], [low_q, high_q], axis=1)
    for row in np.flatnonzero(~whole & finite.any(axis=1)):
        low[row], high[row] = np.percentile(values[row][finite[row]], [low_q, high_q])
    return low, high


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
    low, high = _intervals(scores, low_q, high_q)
    difference_low, difference_high = np.percentile(better[0] - better, [low_q, high_q], axis=1)
    tied = (difference_low <= 0) & (difference_high >= 0)
    tied[0] = True
    rank_low, rank_high = np.percentile(ranks, [low_q, high_q], axis=1)
    return [
        EntryUncertainty(
            low=None if math.isnan(low[row]) else float(low[row]),
            high=None if math.isnan(high[row]) else float(high[row]),
            tied_with_leader=bool(tied[row]),
            rank_low=int(np.floor(rank_low[row])),
            rank_high=int(np.ceil(rank_high[row])),
        )
        for row in range(len(scores))
    ]
