"""The counting paths of the hottest metrics (scoring.counting) against scikit-learn called directly,
on the integer class codes the scorer passes: random, tied and degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from scoring import counting
from scoring.metrics import REGISTRY

rng = np.random.default_rng(7)


def _labels(k: int, n: int, *, hit: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, k, n).astype(np.intp)
    pred = np.where(rng.random(n) < hit, y, rng.integers(0, k, n)).astype(np.intp)
    return y, pred


LABEL_CASES = [
    pytest.param(*_labels(2, 500), id="binary"),
    pytest.param(*_labels(4, 700), id="four classes"),
    pytest.param(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), id="nothing predicted positive"),
    pytest.param(np.array([0, 0, 0, 0]), np.array([0, 1, 0, 1]), id="no true positive in the subset"),
    pytest.param(np.array([0, 1, 2, 2]), np.array([0, 0, 0, 0]), id="classes never predicted"),
]


@pytest.mark.parametrize(("y", "pred"), LABEL_CASES)
def test_label_metrics_equal_scikit_learn(y: np.ndarray, pred: np.ndarray) -> None:
    k = max(2, int(max(y.max(), pred.max())) + 1)
    classes = tuple(range(k))
    assert counting.classes_of(y, pred, classes) == k  # the counting path is the one taken
    average = (
        {"pos_label": 1, "average": "binary"} if k == 2 else {"labels": list(classes), "average": "macro"}
    )
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred, zero_division=0, **average),
        "precision": skm.precision_score(y, pred, zero_division=0, **average),
        "recall": skm.recall_score(y, pred, zero_division=0, **average),
    }
    for name, score in (
        ("f1", skm.f1_score),
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
    ):
        for averaging in ("macro", "weighted"):
            expected[f"{name}_{averaging}"] = score(
                y, pred, labels=list(classes), average=averaging, zero_division=0
            )
    for name, value in expected.items():
        assert REGISTRY[name](y, pred, classes) == pytest.approx(value, rel=1e-12, abs=1e-15), name


@pytest.mark.parametrize(
    "scores",
    [
        pytest.param(rng.random(2000), id="distinct scores"),
        pytest.param(rng.integers(0, 5, 2000) / 4, id="five tied levels"),
        pytest.param(np.full(2000, 0.5), id="all tied"),
    ],
)
def test_binary_roc_auc_equals_scikit_learn(scores: np.ndarray) -> None:
    y = (rng.random(2000) < 0.3 + 0.4 * scores).astype(np.intp)
    proba = np.column_stack([1 - scores, scores])
    got = REGISTRY["roc_auc"](y, proba, (0, 1))
    assert got == pytest.approx(skm.roc_auc_score(y, scores), rel=1e-12)


def test_roc_auc_of_one_class_is_undefined() -> None:
    scores = rng.random(50)
    assert math.isnan(
        REGISTRY["roc_auc"](np.ones(50, dtype=np.intp), np.column_stack([1 - scores, scores]), (0, 1))
    )


def test_other_inputs_go_to_scikit_learn() -> None:
    """Text labels, codes outside the classes, or classes that are not 0..k-1: no counting path."""
    y, pred = _labels(2, 20)
    assert counting.classes_of(y.astype(str).astype(object), pred, (0, 1)) is None
    assert counting.classes_of(y, pred + 5, (0, 1)) is None
    assert counting.classes_of(y, pred, ("0", "1")) is None
    assert counting.classes_of(y[:0], pred[:0], (0, 1)) is None
