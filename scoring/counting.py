"""The hottest classification metrics from counts and ranks, with numpy alone.

Every scored submission is measured on two subsets, and scikit-learn's input checks cost
milliseconds per call, more than the arithmetic. These paths take only what scoring.validate
produces (integer class codes 0..k-1; finite scores); anything else goes to scikit-learn, which
stays the definition: tests/unit/test_counting.py checks each path against it on random, tied and
degenerate inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata


def classes_of(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> int | None:
    """k, when both arrays hold integer codes 0..k-1 of the classes; else None (use scikit-learn)."""
    k = len(classes)
    if k < 2 or len(y_true) == 0 or len(y_true) != len(y_pred) or tuple(classes) != tuple(range(k)):
        return None
    for values in (y_true, y_pred):
        if values.ndim != 1 or values.dtype.kind not in "iu" or values.min() < 0 or values.max() >= k:
            return None
    return k


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Counts (k, k): row = true class, column = predicted class."""
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division=0: an undefined ratio (nothing to divide by) counts as 0.
    out = np.zeros(len(top), dtype=float)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def precisions(counts: np.ndarray) -> np.ndarray:
    return _ratio(np.diag(counts), counts.sum(axis=0))


def recalls(counts: np.ndarray) -> np.ndarray:
    return _ratio(np.diag(counts), counts.sum(axis=1))


def f1s(counts: np.ndarray) -> np.ndarray:
    hits = np.diag(counts)
    return _ratio(2 * hits, counts.sum(axis=0) + counts.sum(axis=1))  # 2tp / (2tp + fp + fn)


def accuracy(counts: np.ndarray) -> float:
    return float(np.trace(counts) / counts.sum())


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half), which is the trapezoid area under
    the ROC curve; ValueError with one class only, as scikit-learn."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("only one class present in y_true: ROC AUC is not defined")
    ranks = rankdata(score)  # average ranks of ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def weighted(values: np.ndarray, counts: np.ndarray) -> float:
    """Per-class values averaged by each class's count of true rows (scikit-learn's "weighted")."""
    return float(np.average(values, weights=counts.sum(axis=1)))
