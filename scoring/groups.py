"""Per-group scores (fairness): the primary metric on each group of the test rows, its worst group and
the disparity between groups.

The per-group computation is fairlearn's MetricFrame (a well-kept library made for exactly this);
what riality adds is the reporting rule: a group with fewer rows than the challenge's minimum is
never reported on its own (a score over a handful of people says nothing and may identify them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from scoring.metrics import Metric

DEFAULT_MIN_SIZE = 30


def group_sizes(groups: np.ndarray, mask: np.ndarray | None = None) -> dict[str, int]:
    """Rows of each group (within `mask`, a subset of the test set, if given), every group named."""
    names, counts = np.unique(groups if mask is None else groups[mask], return_counts=True)
    return {str(name): int(count) for name, count in zip(names, counts, strict=True)}


def reported(sizes: Mapping[str, int], min_size: int) -> list[str]:
    """The groups large enough to be reported on their own, in name order."""
    return sorted(name for name, size in sizes.items() if size >= min_size)


def group_scores(
    metric: Metric,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    codes: tuple[int, ...],
    min_size: int,
) -> dict[str, float]:
    """The metric on each reported group of these rows (NaN where it is undefined on the group)."""
    # Imported here: fairlearn (with what it loads) takes ~2 s, which every process (API, CLI, worker)
    # would pay at start-up, for the few challenges that score groups.
    from fairlearn.metrics import MetricFrame

    keep = np.isin(groups, reported(group_sizes(groups), min_size))
    if not keep.any():
        return {}
    frame = MetricFrame(
        metrics=lambda truth, predicted: metric(truth, predicted, codes),
        y_true=y_true[keep],
        y_pred=y_pred[keep],
        sensitive_features=groups[keep],
    )
    return {str(name): float(value) for name, value in frame.by_group.items()}


def worst_and_disparity(by_group: Mapping[str, float | None], higher_is_better: bool) -> tuple[float, float]:
    """The worst group's score and best − worst (≥ 0), over the groups with a defined score; NaN
    for both when there are none (never ranked)."""
    values = [v for v in by_group.values() if v is not None and math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    worst = min(values) if higher_is_better else max(values)
    return worst, max(values) - min(values)
