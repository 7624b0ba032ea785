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
from sklearn.preprocessing import label_binarize

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


def _averaged(score: Callable[..., float], per_class: PerClass, average: str) -> Compute:
    """A per-class metric averaged: "binary" scores the positive class (the last one) and averages
    (macro) with more classes; "macro" and "weighted" (by each class's true count) always average."""

    def compute(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
        if (k := counting.classes_of(y_true, y_pred, classes)) is not None:
            counts = counting.confusion(y_true, y_pred, k)
            values = per_class(counts)
            if average == "binary" and k == 2:
                return float(values[-1])
            return counting.weighted(values, counts) if average == "weighted" else float(values.mean())
        if average == "binary" and len(classes) == 2:
            return score(y_true, y_pred, pos_label=classes[-1], average="binary", zero_division=0)
        averaging = "macro" if average == "binary" else average
        return score(y_true, y_pred, labels=list(classes), average=averaging, zero_division=0)

    return compute


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
    if (k := counting.classes_of(y_true, y_pred, classes)) is not None:
        return counting.accuracy(counting.confusion(y_true, y_pred, k))
    return skm.accuracy_score(y_true, y_pred)


def _roc_auc(average: str) -> Compute:
    """Binary: the positive class's; more classes: one-vs-rest, averaged (macro or weighted)."""

    def compute(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> float:
        if len(classes) == 2:
            positive = y_true == classes[-1]
            if counting.classes_of(y_true, positive.astype(np.intp), classes) is not None:
                return counting.binary_auc(positive, proba[:, -1])
            return skm.roc_auc_score(positive, proba[:, -1])
        return skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(classes), average=average)

    return compute


def _average_precision(average: str) -> Compute:
    def compute(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> float:
        if len(classes) == 2:
            return skm.average_precision_score(y_true == classes[-1], proba[:, -1])
        indicators = label_binarize(y_true, classes=list(classes))
        return skm.average_precision_score(indicators, proba, average=average)

    return compute


def _top_k(k: int) -> Compute:
    def compute(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> float:
        scores = proba[:, -1] if len(classes) == 2 else proba  # scikit-learn's binary form
        return skm.top_k_accuracy_score(y_true, scores, k=k, labels=list(classes))

    return compute


def _kappa(weights: str | None) -> Compute:
    """Cohen's kappa; weighted kappas count how far apart two classes are in the classes' order."""

    def compute(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any]) -> float:
        return skm.cohen_kappa_score(y_true, y_pred, labels=list(classes), weights=weights)

    return compute


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
            _averaged(skm.f1_score, counting.f1s, "binary"),
            "F1 of the positive class (macro if >2)",
        ),
        *(
            Metric(
                f"{name}_{average}",
                True,
                _C,
                _L,
                _averaged(score, per_class, average),
                f"{name} of each class, averaged{' by class frequency' if average == 'weighted' else ''}",
            )
            for name, score, per_class in (
                ("f1", skm.f1_score, counting.f1s),
                ("precision", skm.precision_score, counting.precisions),
                ("recall", skm.recall_score, counting.recalls),
            )
            for average in ("macro", "weighted")
        ),
        Metric("matthews_corrcoef", True, _C, _L, _labels(skm.matthews_corrcoef), "Matthews correlation"),
        Metric("cohen_kappa", True, _C, _L, _kappa(None), "agreement beyond chance (Cohen's kappa)"),
        Metric(
            "cohen_kappa_linear",
            True,
            _C,
            _L,
            _kappa("linear"),
            "Cohen's kappa, linear weights (ordered classes)",
        ),
        Metric(
            "cohen_kappa_quadratic",
            True,
            _C,
            _L,
            _kappa("quadratic"),
            "Cohen's kappa, quadratic weights (ordered classes)",
        ),
        Metric(
            "precision",
            True,
            _C,
            _L,
            _averaged(skm.precision_score, counting.precisions, "binary"),
            "precision of the positive class (macro if >2)",
        ),
        Metric(
            "recall",
            True,
            _C,
            _L,
            _averaged(skm.recall_score, counting.recalls, "binary"),
            "recall of the positive class (macro if >2)",
        ),
        Metric(
            "roc_auc", True, _C, _P, _roc_auc("macro"), "area under the ROC curve (one-vs-rest if >2 classes)"
        ),
        Metric(
            "roc_auc_weighted",
            True,
            _C,
            _P,
            _roc_auc("weighted"),
            "ROC AUC, one-vs-rest averaged by class frequency",
        ),
        Metric(
            "average_precision",
            True,
            _C,
            _P,
            _average_precision("macro"),
            "area under the precision-recall curve (one-vs-rest if >2 classes)",
        ),
        Metric(
            "average_precision_weighted",
            True,
            _C,
            _P,
            _average_precision("weighted"),
            "average precision, one-vs-rest averaged by class frequency",
        ),
        Metric(
            "top_3_accuracy", True, _C, _P, _top_k(3), "share of rows whose class is among the 3 most likely"
        ),
        Metric(
            "top_5_accuracy", True, _C, _P, _top_k(5), "share of rows whose class is among the 5 most likely"
        ),
        Metric("log_loss", False, _C, _P, _log_loss, "cross-entropy of the predicted probabilities"),
        Metric("rmse", False, _R, _V, _regression(skm.root_mean_squared_error), "root mean squared error"),
        Metric("mae", False, _R, _V, _regression(skm.mean_absolute_error), "mean absolute error"),
        Metric("mse", False, _R, _V, _regression(skm.mean_squared_error), "mean squared error"),
        Metric(
            "median_absolute_error",
            False,
            _R,
            _V,
            _regression(skm.median_absolute_error),
            "median absolute error",
        ),
        Metric(
            "rmsle",
            False,
            _R,
            _V,
            _regression(skm.root_mean_squared_log_error),
            "root mean squared logarithmic error (values must be >= 0)",
        ),
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


def predicted_codes(proba: np.ndarray) -> np.ndarray:
    """The position of each row's predicted class: argmax, so for two classes P(positive) >= 0.5
    wins on a tie (the last of equal probabilities)."""
    return proba.shape[1] - 1 - np.argmax(proba[:, ::-1], axis=1)


def labels_from_probabilities(proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """The predicted class of each row (see predicted_codes)."""
    return np.asarray(classes, dtype=object)[predicted_codes(proba)]
