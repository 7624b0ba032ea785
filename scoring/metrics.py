"""The metric registry: every metric knows its direction, its task and the predictions it needs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import sklearn
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from scoring import counting
from scoring.errors import UnknownMetricError


class Task(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class Output(StrEnum):
    """What a prediction file holds for a metric."""

    LABEL = "label"  # one class label per row
    PROBABILITY = "probability"  # P(positive) for two classes, one column per class otherwise
    VALUE = "value"  # one number per row (regression)


# compute(y_true, y_pred, classes): y_pred is labels, an (n, k) probability matrix, or values.
# Classes may be labels or integer codes; the last one is the positive class of a binary task.
Compute = Callable[[np.ndarray, np.ndarray, Sequence[Any]], float]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    higher_is_better: bool
    task: Task
    needs: Output
    compute: Compute
    description: str

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any] = ()) -> float:
        """The metric's value, or NaN where it is undefined (one class only in a subset, say)."""
        # Inputs were validated by scoring.validate: skip scikit-learn's own (slow) checks.
        with (
            warnings.catch_warnings(),
            sklearn.config_context(skip_parameter_validation=True, assume_finite=True),
        ):
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                value = float(self.compute(y_true, y_pred, classes))
            except ValueError:
                return math.nan
        return value if math.isfinite(value) else math.nan

    def better(self, a: float, b: float) -> bool:
        """True when score a beats score b."""
        return a > b if self.higher_is_better else a < b


PerClass = Callable[[np.ndarray], np.ndarray]  # counts → one value per class


def _binary_or_macro(score: Callable[..., float], per_class: PerClass) -> Compute:
    """Binary metrics score the positive class (the last class); with more classes they average (macro)."""

    def compute(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
        if (k := counting.classes_of(y_true, y_pred, classes)) is not None:
            values = per_class(counting.confusion(y_true, y_pred, k))
            return float(values[-1] if k == 2 else values.mean())
        if len(classes) == 2:
            return score(y_true, y_pred, pos_label=classes[-1], average="binary", zero_division=0)
        return score(y_true, y_pred, labels=list(classes), average="macro", zero_division=0)

    return compute


def _f1_macro(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
    if (k := counting.classes_of(y_true, y_pred, classes)) is not None:
        return float(counting.f1s(counting.confusion(y_true, y_pred, k)).mean())
    return skm.f1_score(y_true, y_pred, labels=list(classes), average="macro", zero_division=0)


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
    if (k := counting.classes_of(y_true, y_pred, classes)) is not None:
        return counting.accuracy(counting.confusion(y_true, y_pred, k))
    return skm.accuracy_score(y_true, y_pred)


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> float:
    if len(classes) == 2:
        positive = y_true == classes[-1]
        if counting.classes_of(y_true, positive.astype(np.intp), classes) is not None:
            return counting.binary_auc(positive, proba[:, -1])
        return skm.roc_auc_score(positive, proba[:, -1])
    return skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(classes))


def _log_loss(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> float:
    # Normalise rows ourselves: scikit-learn warns about (and then rescales) rows that do not sum to 1.
    proba = np.clip(proba, 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return skm.log_loss(y_true, proba, labels=list(classes))


def _regression(score: Callable[..., float]) -> Compute:
    def compute(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
        return score(y_true, y_pred)

    return compute


def _labels(score: Callable[..., float]) -> Compute:
    def compute(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
        return score(y_true, y_pred)

    return compute


_C, _R = Task.CLASSIFICATION, Task.REGRESSION
_L, _P, _V = Output.LABEL, Output.PROBABILITY, Output.VALUE

REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", True, _C, _L, _accuracy, "share of rows with the right class"),
        Metric(
            "balanced_accuracy",
            True,
            _C,
            _L,
            _labels(skm.balanced_accuracy_score),
            "mean recall over the classes",
        ),
        Metric(
            "f1",
            True,
            _C,
            _L,
            _binary_or_macro(skm.f1_score, counting.f1s),
            "F1 of the positive class (macro if >2)",
        ),
        Metric("f1_macro", True, _C, _L, _f1_macro, "F1 averaged over the classes"),
        Metric(
            "precision",
            True,
            _C,
            _L,
            _binary_or_macro(skm.precision_score, counting.precisions),
            "precision of the positive class (macro if >2)",
        ),
        Metric(
            "recall",
            True,
            _C,
            _L,
            _binary_or_macro(skm.recall_score, counting.recalls),
            "recall of the positive class (macro if >2)",
        ),
        Metric("roc_auc", True, _C, _P, _roc_auc, "area under the ROC curve (one-vs-rest if >2 classes)"),
        Metric("log_loss", False, _C, _P, _log_loss, "cross-entropy of the predicted probabilities"),
        Metric("rmse", False, _R, _V, _regression(skm.root_mean_squared_error), "root mean squared error"),
        Metric("mae", False, _R, _V, _regression(skm.mean_absolute_error), "mean absolute error"),
        Metric("r2", True, _R, _V, _regression(skm.r2_score), "coefficient of determination"),
        Metric(
            "mape",
            False,
            _R,
            _V,
            _regression(skm.mean_absolute_percentage_error),
            "mean absolute percentage error (a fraction)",
        ),
    )
}


def get_metric(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownMetricError(name, sorted(REGISTRY)) from None


def labels_from_probabilities(proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """The predicted class of each row: argmax, so for two classes P(positive) >= 0.5 wins on a tie."""
    winner = proba.shape[1] - 1 - np.argmax(proba[:, ::-1], axis=1)
    return np.asarray(classes, dtype=object)[winner]
