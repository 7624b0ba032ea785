"""The hidden test set as the scorer sees it, and scoring predictions against it."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.classes import sort_classes
from scoring.groups import DEFAULT_MIN_SIZE, group_scores, group_sizes, worst_and_disparity
from scoring.metrics import Metric, Output, Task, predicted_codes
from scoring.split import public_mask
from scoring.validate import Expectation, arrow_ids


class LabelsFileError(ValueError):
    """The organiser's labels file is unusable."""


@dataclass(frozen=True, slots=True)
class GroundTruth:
    ids: pd.Index
    y: np.ndarray  # class codes, positions in `classes` (classification), or floats (regression)
    public: np.ndarray  # boolean mask of the public subset
    classes: tuple[str, ...]
    groups: np.ndarray | None = None  # each row's group (strings) when the challenge scores groups
    arrow_ids: Any = None  # `ids` as Arrow strings, built once with the truth (scoring.validate.Expectation)

    def group_sizes(self) -> dict[str, dict[str, int]]:
        """Rows of each group in the public and the private subset (empty without groups)."""
        if self.groups is None:
            return {}
        return {
            "public": group_sizes(self.groups, self.public),
            "private": group_sizes(self.groups, self.private),
        }

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(range(len(self.classes)))

    @property
    def private(self) -> np.ndarray:
        return ~self.public


@dataclass(frozen=True, slots=True)
class Scores:
    """A submission's metrics on the public and private subsets; the primary metric is `metric`.

    With groups, `groups` holds the primary metric of each reported group per subset; a challenge
    ranked by its worst group (`by_worst_group`) ranks that score instead of the overall one.
    """

    metric: str
    public: dict[str, float] = field(default_factory=dict)
    private: dict[str, float] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    by_worst_group: bool = False
    higher_is_better: bool = True

    def _ranked(self, subset: str) -> float:
        if self.by_worst_group:
            return worst_and_disparity(self.groups.get(subset, {}), self.higher_is_better)[0]
        overall: dict[str, float] = getattr(self, subset)
        return overall[self.metric]

    def as_json(self) -> dict[str, Any]:
        """As stored with the submission; JSON has no NaN, so an undefined metric is null."""
        kept: dict[str, Any] = {
            "public": {k: finite_or_none(v) for k, v in self.public.items()},
            "private": {k: finite_or_none(v) for k, v in self.private.items()},
        }
        if self.groups:  # the primary metric per reported group, per subset
            kept["groups"] = {
                subset: {g: finite_or_none(v) for g, v in by_group.items()}
                for subset, by_group in self.groups.items()
            }
        return kept

    @property
    def public_score(self) -> float:
        return self._ranked("public")

    @property
    def private_score(self) -> float:
        return self._ranked("private")


def load_truth(
    data: bytes,
    *,
    id_column: str,
    target_column: str,
    task: Task,
    fraction: float,
    seed: str,
    group_column: str | None = None,
    split_column: str | None = None,
) -> GroundTruth:
    """Read a labels CSV (id, target[, group][, split]) into a GroundTruth; raise LabelsFileError if it is
    unusable. The public rows are a seeded `fraction` of them, or those whose `split_column` says public."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise LabelsFileError(f"labels file is not a readable CSV: {exc}") from None
    for column in (id_column, target_column, *(c for c in (group_column, split_column) if c)):
        if column not in frame.columns:
            raise LabelsFileError(
                f"labels file has no column {column!r} (found: {', '.join(map(str, frame.columns))})"
            )
    ids = frame[id_column].str.strip()
    if len(ids) < 2:
        raise LabelsFileError("labels file needs at least 2 rows")
    if (ids == "").any() or ids.duplicated().any():
        raise LabelsFileError(f"labels file: column {id_column!r} must hold unique, non-empty ids")
    target = frame[target_column].str.strip()
    if (target == "").any():
        line = int(np.flatnonzero((target == "").to_numpy())[0]) + 2
        raise LabelsFileError(f"labels file: line {line}: empty {target_column!r}")
    if task is Task.REGRESSION:
        y = pd.to_numeric(target, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(y).all():
            line = int(np.flatnonzero(~np.isfinite(y))[0]) + 2
            raise LabelsFileError(f"labels file: line {line}: {target_column!r} is not a finite number")
        classes: tuple[str, ...] = ()
    else:
        labels = target.to_numpy(dtype=object)
        classes = sort_classes(labels)
        if len(classes) < 2:
            raise LabelsFileError("labels file: a classification test set needs at least 2 classes")
        y = pd.Index(classes, dtype=object).get_indexer(labels)
    groups = None
    if group_column:
        named = frame[group_column].str.strip()
        if (named == "").any():
            line = int(np.flatnonzero((named == "").to_numpy())[0]) + 2
            raise LabelsFileError(f"labels file: line {line}: empty group {group_column!r}")
        groups = named.to_numpy(dtype=str)
    index = pd.Index(ids.to_numpy(dtype=object), dtype=object)
    if split_column:
        public = _named_split(frame[split_column], split_column)
    else:
        public = public_mask(list(index), fraction, seed)
    return GroundTruth(
        ids=index, y=y, public=public, classes=classes, groups=groups, arrow_ids=arrow_ids(index)
    )


SPLIT_VALUES = ("public", "private")


def _named_split(column: pd.Series, name: str) -> np.ndarray:
    """Each row's subset as the labels file names it (public / private, any case)."""
    split = column.str.strip().str.lower()
    unknown = ~split.isin(SPLIT_VALUES)
    if unknown.any():
        line = int(np.flatnonzero(unknown.to_numpy())[0]) + 2
        raise LabelsFileError(
            f"labels file: line {line}: {name!r} is {column.iloc[line - 2]!r}; expected public or private"
        )
    public = (split == "public").to_numpy()
    if public.all() or not public.any():
        raise LabelsFileError(f"labels file: column {name!r} must name both public and private rows")
    return public


def expectation_for(
    truth: GroundTruth, metric: Metric, *, id_column: str, target_column: str, max_bytes: int
) -> Expectation:
    return Expectation(
        id_column=id_column,
        ids=truth.ids,
        target_column=target_column,
        output=metric.needs,
        classes=truth.classes,
        max_bytes=max_bytes,
        arrow_ids=truth.arrow_ids,
    )


def _as_needed(values: np.ndarray, produced: Output, needed: Output) -> np.ndarray:
    if produced is needed:
        return values
    if produced is Output.PROBABILITY and needed is Output.LABEL:
        return predicted_codes(values).astype(np.intp)  # codes are positions: no object array needed
    raise ValueError(f"cannot compute a metric that needs {needed} from {produced} predictions")


def score(
    truth: GroundTruth,
    predictions: np.ndarray,
    metric: Metric,
    extra: list[Metric],
    *,
    min_group_size: int = DEFAULT_MIN_SIZE,
    by_worst_group: bool = False,
) -> Scores:
    """All metrics on both subsets (and the primary one per group, with groups); an undefined value
    (e.g. AUC of one class) is NaN, never ranked."""
    result = Scores(
        metric=metric.name, by_worst_group=by_worst_group, higher_is_better=metric.higher_is_better
    )
    # Classes travel as integer codes: scikit-learn is several times faster on ints than on strings.
    converted = {m.needs: _as_needed(predictions, metric.needs, m.needs) for m in (metric, *extra)}
    for name, subset in (("public", truth.public), ("private", truth.private)):
        target: dict[str, float] = getattr(result, name)
        for m in (metric, *extra):
            target[m.name] = m(truth.y[subset], converted[m.needs][subset], truth.codes)
        if truth.groups is not None:
            result.groups[name] = group_scores(
                metric,
                truth.y[subset],
                converted[metric.needs][subset],
                truth.groups[subset],
                truth.codes,
                min_group_size,
            )
    return result


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
