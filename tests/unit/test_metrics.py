"""Every registered metric against scikit-learn called directly, its direction, and undefined values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from scoring.errors import UnknownMetricError
from scoring.metrics import REGISTRY, Output, Task, get_metric, labels_from_probabilities

rng = np.random.default_rng(0)
BINARY = ("0", "1")
Y_BIN = rng.choice(BINARY, 200).astype(object)
P_BIN = np.clip(rng.random(200) * 0.6 + (Y_BIN == "1") * 0.35, 0, 1)
PRED_BIN = np.where(P_BIN >= 0.5, "1", "0").astype(object)
MULTI = ("a", "b", "c")
Y_MULTI = rng.choice(MULTI, 300).astype(object)
PRED_MULTI = np.where(rng.random(300) < 0.7, Y_MULTI, rng.choice(MULTI, 300)).astype(object)
P_MULTI = rng.dirichlet([1, 1, 1], 300)
Y_REG = rng.normal(50, 10, 150)
P_REG = Y_REG + rng.normal(0, 3, 150)
SIX = tuple("abcdef")
Y_SIX = rng.choice(SIX, 400).astype(object)
P_SIX = rng.dirichlet(np.ones(6), 400)
GRADES = ("1", "2", "3", "4")  # ordered classes, for weighted kappas
Y_GRADE = rng.choice(GRADES, 300).astype(object)
PRED_GRADE = np.where(rng.random(300) < 0.6, Y_GRADE, rng.choice(GRADES, 300)).astype(object)
MULTI_INDICATORS = Y_MULTI[:, None] == np.array(MULTI, dtype=object)[None, :]

CASES = [
    ("accuracy", Y_BIN, PRED_BIN, BINARY, skm.accuracy_score(Y_BIN, PRED_BIN)),
    ("balanced_accuracy", Y_MULTI, PRED_MULTI, MULTI, skm.balanced_accuracy_score(Y_MULTI, PRED_MULTI)),
    ("f1", Y_BIN, PRED_BIN, BINARY, skm.f1_score(Y_BIN, PRED_BIN, pos_label="1")),
    ("f1", Y_MULTI, PRED_MULTI, MULTI, skm.f1_score(Y_MULTI, PRED_MULTI, average="macro")),
    ("f1_macro", Y_MULTI, PRED_MULTI, MULTI, skm.f1_score(Y_MULTI, PRED_MULTI, average="macro")),
    ("precision", Y_BIN, PRED_BIN, BINARY, skm.precision_score(Y_BIN, PRED_BIN, pos_label="1")),
    ("recall", Y_BIN, PRED_BIN, BINARY, skm.recall_score(Y_BIN, PRED_BIN, pos_label="1")),
    ("roc_auc", Y_BIN, np.column_stack([1 - P_BIN, P_BIN]), BINARY, skm.roc_auc_score(Y_BIN == "1", P_BIN)),
    (
        "roc_auc",
        Y_MULTI,
        P_MULTI,
        MULTI,
        skm.roc_auc_score(Y_MULTI, P_MULTI, multi_class="ovr", labels=list(MULTI)),
    ),
    (
        "log_loss",
        Y_BIN,
        np.column_stack([1 - P_BIN, P_BIN]),
        BINARY,
        skm.log_loss(Y_BIN, np.column_stack([1 - P_BIN, P_BIN]), labels=list(BINARY)),
    ),
    ("log_loss", Y_MULTI, P_MULTI, MULTI, skm.log_loss(Y_MULTI, P_MULTI, labels=list(MULTI))),
    ("rmse", Y_REG, P_REG, (), math.sqrt(skm.mean_squared_error(Y_REG, P_REG))),
    ("median_absolute_error", Y_REG, P_REG, (), skm.median_absolute_error(Y_REG, P_REG)),
    ("mse", Y_REG, P_REG, (), skm.mean_squared_error(Y_REG, P_REG)),
    ("rmsle", Y_REG, P_REG, (), skm.root_mean_squared_log_error(Y_REG, P_REG)),
    ("matthews_corrcoef", Y_BIN, PRED_BIN, BINARY, skm.matthews_corrcoef(Y_BIN, PRED_BIN)),
    ("matthews_corrcoef", Y_MULTI, PRED_MULTI, MULTI, skm.matthews_corrcoef(Y_MULTI, PRED_MULTI)),
    ("cohen_kappa", Y_GRADE, PRED_GRADE, GRADES, skm.cohen_kappa_score(Y_GRADE, PRED_GRADE)),
    (
        "cohen_kappa_linear",
        Y_GRADE,
        PRED_GRADE,
        GRADES,
        skm.cohen_kappa_score(Y_GRADE, PRED_GRADE, weights="linear"),
    ),
    (
        "cohen_kappa_quadratic",
        Y_GRADE,
        PRED_GRADE,
        GRADES,
        skm.cohen_kappa_score(Y_GRADE, PRED_GRADE, weights="quadratic"),
    ),
    ("top_3_accuracy", Y_SIX, P_SIX, SIX, skm.top_k_accuracy_score(Y_SIX, P_SIX, k=3, labels=list(SIX))),
    ("top_5_accuracy", Y_SIX, P_SIX, SIX, skm.top_k_accuracy_score(Y_SIX, P_SIX, k=5, labels=list(SIX))),
    (
        "average_precision",
        Y_BIN,
        np.column_stack([1 - P_BIN, P_BIN]),
        BINARY,
        skm.average_precision_score(Y_BIN == "1", P_BIN),
    ),
    ("average_precision", Y_MULTI, P_MULTI, MULTI, skm.average_precision_score(MULTI_INDICATORS, P_MULTI)),
    (
        "average_precision_weighted",
        Y_MULTI,
        P_MULTI,
        MULTI,
        skm.average_precision_score(MULTI_INDICATORS, P_MULTI, average="weighted"),
    ),
    (
        "roc_auc_weighted",
        Y_MULTI,
        P_MULTI,
        MULTI,
        skm.roc_auc_score(Y_MULTI, P_MULTI, multi_class="ovr", labels=list(MULTI), average="weighted"),
    ),
    *(
        (
            f"{name}_{average}",
            Y_MULTI,
            PRED_MULTI,
            MULTI,
            score(Y_MULTI, PRED_MULTI, labels=list(MULTI), average=average, zero_division=0),
        )
        for name, score in (
            ("f1", skm.f1_score),
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
        )
        for average in ("macro", "weighted")
    ),
    ("mae", Y_REG, P_REG, (), skm.mean_absolute_error(Y_REG, P_REG)),
    ("r2", Y_REG, P_REG, (), skm.r2_score(Y_REG, P_REG)),
    ("mape", Y_REG, P_REG, (), skm.mean_absolute_percentage_error(Y_REG, P_REG)),
]


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "classes", "expected"), CASES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_metric_matches_scikit_learn(name, y_true, y_pred, classes, expected) -> None:
    assert get_metric(name)(y_true, y_pred, classes) == pytest.approx(expected, rel=1e-12)


def test_registry_has_the_required_metrics() -> None:
    required = {
        "accuracy",
        "balanced_accuracy",
        "f1",
        "f1_macro",
        "precision",
        "recall",
        "roc_auc",
        "log_loss",
        "rmse",
        "mae",
        "r2",
        "mape",
        "average_precision",
        "matthews_corrcoef",
        "cohen_kappa",
        "cohen_kappa_linear",
        "cohen_kappa_quadratic",
        "top_3_accuracy",
        "rmsle",
        "median_absolute_error",
        "f1_weighted",
        "precision_macro",
        "recall_weighted",
    }
    assert required <= set(REGISTRY)


@pytest.mark.parametrize(
    ("name", "higher"),
    [
        ("accuracy", True),
        ("roc_auc", True),
        ("r2", True),
        ("f1", True),
        ("log_loss", False),
        ("rmse", False),
        ("mae", False),
        ("mape", False),
        ("rmsle", False),
        ("median_absolute_error", False),
        ("mse", False),
        ("matthews_corrcoef", True),
        ("cohen_kappa_quadratic", True),
        ("average_precision", True),
        ("top_3_accuracy", True),
    ],
)
def test_direction(name: str, higher: bool) -> None:
    metric = get_metric(name)
    assert metric.higher_is_better is higher
    assert metric.better(1.0, 0.5) is higher
    assert metric.better(0.5, 1.0) is not higher


def test_needs_and_task() -> None:
    assert get_metric("roc_auc").needs is Output.PROBABILITY
    assert get_metric("accuracy").needs is Output.LABEL
    assert get_metric("rmse").needs is Output.VALUE and get_metric("rmse").task is Task.REGRESSION


def test_undefined_metric_is_nan() -> None:
    y = np.array(["1", "1", "1"], dtype=object)
    proba = np.column_stack([np.zeros(3), np.ones(3)])
    assert math.isnan(get_metric("roc_auc")(y, proba, BINARY))  # one class only: AUC is undefined
    assert math.isnan(get_metric("r2")(np.ones(1), np.ones(1)))  # one sample: R² undefined


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(UnknownMetricError, match="unknown metric 'auc'; expected one of: accuracy"):
        get_metric("auc")


def test_labels_from_probabilities_break_ties_towards_the_later_class() -> None:
    proba = np.array([[0.5, 0.5], [0.7, 0.3], [0.2, 0.8]])
    assert list(labels_from_probabilities(proba, BINARY)) == ["1", "0", "1"]
