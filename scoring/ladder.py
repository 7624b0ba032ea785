"""The Ladder (Blum & Hardt, "The Ladder: A Reliable Leaderboard for Machine Learning Competitions",
ICML 2015), its parameter-free variant: a team's released public score changes only when a new
submission beats the submission behind it by more than one standard error of their paired per-row
loss difference (a one-sided test). Overfitting the public rows by many small adaptive changes then
moves the released score rarely, and so teaches the team little about the public rows.

Pure functions over per-row losses (lower is better, e.g. 1 - correct for accuracy): what a board
needs to release a score, and the sequence of released scores of a team, which the tests and
bench/ladder.py check by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def paired_standard_error(new_loss: np.ndarray, released_loss: np.ndarray) -> float:
    """The standard error of the mean of the per-row loss differences (sample deviation / sqrt(n))."""
    differences = np.asarray(new_loss, dtype=float) - np.asarray(released_loss, dtype=float)
    if len(differences) < 2:
        return math.inf
    return float(np.std(differences, ddof=1) / math.sqrt(len(differences)))


def beats(new_loss: np.ndarray, released_loss: np.ndarray) -> bool:
    """The new submission's mean loss is below the released one's by more than one standard error."""
    improvement = float(np.mean(released_loss) - np.mean(new_loss))
    # "More than": a difference of one row is exactly one standard error (1/n both); rounding must not
    # decide it.
    return improvement - paired_standard_error(new_loss, released_loss) > 1e-12


@dataclass(frozen=True, slots=True)
class Step:
    """One submission through the Ladder: its own mean loss, and what is released after it."""

    loss: float
    released_loss: float
    released_index: int  # the submission behind the released score (0-based, in submission order)
    changed: bool


def run_ladder(losses: Sequence[np.ndarray]) -> list[Step]:
    """A team's submissions in order (each its per-row losses on the public rows) through the Ladder:
    the first is released; each later one replaces the released one only if it beats it."""
    steps: list[Step] = []
    released: int | None = None
    for index, loss in enumerate(losses):
        changed = released is None or beats(loss, losses[released])
        if changed:
            released = index
        assert released is not None
        steps.append(Step(float(np.mean(loss)), float(np.mean(losses[released])), released, changed))
    return steps


def _zero_one(y_true: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (np.asarray(y_true) != np.asarray(labels)).astype(float)


def _cross_entropy(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    # As scoring.metrics' log loss: clipped, each row rescaled to sum to 1.
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return -np.log(proba[np.arange(len(proba)), np.asarray(y_true, dtype=np.intp)])


def _absolute(y_true: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(y_true, dtype=float) - np.asarray(values, dtype=float))


def _squared(y_true: np.ndarray, values: np.ndarray) -> np.ndarray:
    return (np.asarray(y_true, dtype=float) - np.asarray(values, dtype=float)) ** 2


def _relative(y_true: np.ndarray, values: np.ndarray) -> np.ndarray:
    # scikit-learn's MAPE: |y - ŷ| / max(|y|, eps).
    y = np.asarray(y_true, dtype=float)
    return _absolute(y, values) / np.maximum(np.abs(y), np.finfo(np.float64).eps)


# The metrics that are a mean of per-row losses (or, RMSE, a monotone function of one: comparing mean
# squared errors orders RMSEs alike), which is what the Ladder's paired test needs. Counting metrics such
# as F1 or ROC AUC have no per-row loss.
ROW_LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "accuracy": _zero_one,
    "log_loss": _cross_entropy,
    "mae": _absolute,
    "rmse": _squared,
    "mse": _squared,
    "mape": _relative,
}


def row_losses(metric: str, y_true: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Each row's loss under `metric` (one of ROW_LOSSES): y_true as scoring.truth holds it (class codes
    or values), predictions as validated (labels as codes, a probability matrix, or values)."""
    return ROW_LOSSES[metric](y_true, predictions)
