"""Scoring with an organiser's scorer.py, in its own sandboxed container.

The scorer sees the labels and the (already validated) predictions of each subset, read-only,
and nothing else; it has no network and the challenge's limits. What it returns is checked
here: a dict of numbers holding the challenge's primary metric.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from challenges.spec import ChallengeSpec
from runner.sandbox import Limits, Mount, Outcome, Sandbox, run_folder
from scoring.metrics import Output
from scoring.truth import GroundTruth, Scores

HARNESS = "/opt/riality/score_harness.py"


class ScorerError(Exception):
    """The organiser's scorer failed or returned something unusable; the message and logs say how."""

    def __init__(self, message: str, logs: str = "") -> None:
        super().__init__(message)
        self.logs = logs


@dataclass(frozen=True, slots=True)
class _Inputs:
    labels: pd.DataFrame
    predictions: pd.DataFrame


def _frames(spec: ChallengeSpec, truth: GroundTruth, values: np.ndarray, labels_csv: bytes) -> _Inputs:
    labels = pd.read_csv(io.BytesIO(labels_csv), dtype={spec.id_column: str})
    labels = labels.set_index(labels[spec.id_column].str.strip()).loc[truth.ids].reset_index(drop=True)
    predictions = pd.DataFrame({spec.id_column: truth.ids})
    output = spec.primary_metric.needs
    if output is Output.LABEL:
        predictions[spec.target_column] = np.asarray(truth.classes, dtype=object)[values]
    elif output is Output.PROBABILITY and values.shape[1] > 2:
        for i, name in enumerate(truth.classes):
            predictions[f"proba_{name}"] = values[:, i]
    elif output is Output.PROBABILITY:
        predictions[spec.target_column] = values[:, -1]
    else:
        predictions[spec.target_column] = values
    return _Inputs(labels=labels, predictions=predictions)


def _parse(raw: bytes, spec: ChallengeSpec) -> Scores:
    try:
        document = json.loads(raw)
        parts = {
            subset: {str(k): (math.nan if v is None else float(v)) for k, v in document[subset].items()}
            for subset in ("public", "private")
        }
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ScorerError(f"scorer.py returned something other than a dict of numbers: {exc}") from None
    for subset, values in parts.items():
        if spec.metric not in values:
            raise ScorerError(
                f"scorer.py returned no {spec.metric!r} (the challenge's metric) on the {subset} subset"
            )
    return Scores(metric=spec.metric, public=parts["public"], private=parts["private"])


def score_with_scorer(
    sandbox: Sandbox,
    *,
    spec: ChallengeSpec,
    truth: GroundTruth,
    values: np.ndarray,
    labels_csv: bytes,
    scorer_file: Path,
    work_root: Path,
) -> Scores:
    """Blocking (call it from a thread)."""
    inputs = _frames(spec, truth, values, labels_csv)
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="score-", dir=work_root))
    try:
        folders = {
            name: run_folder(work / name, writable=name == "output")
            for name in ("inputs", "scorer", "output")
        }
        for subset, mask in (("public", truth.public), ("private", truth.private)):
            inputs.labels[mask].to_csv(folders["inputs"] / f"labels_{subset}.csv", index=False)
            inputs.predictions[mask].to_csv(folders["inputs"] / f"predictions_{subset}.csv", index=False)
        shutil.copyfile(scorer_file, folders["scorer"] / "scorer.py")
        for path in (*folders["inputs"].iterdir(), folders["scorer"] / "scorer.py"):
            path.chmod(0o644)
        result = sandbox.run(
            spec.runtime_image,
            ["python3", HARNESS, "--id-column", spec.id_column],
            limits=Limits(
                time_s=spec.limits.time_s, memory_mb=spec.limits.memory_mb, cpus=spec.limits.cpus, output_mb=1
            ),
            mounts=(
                Mount(folders["inputs"], "/inputs"),
                Mount(folders["scorer"], "/scorer"),
                Mount(folders["output"], "/output", writable=True),
            ),
            output=folders["output"],
            labels={"riality.challenge": spec.slug, "riality.role": "scorer"},
        )
        if result.outcome is not Outcome.OK:
            raise ScorerError(
                f"the challenge's scorer.py ended: {result.outcome.value} (exit {result.exit_code})",
                result.logs,
            )
        produced = folders["output"] / "scores.json"
        if not produced.is_file() or produced.is_symlink():
            raise ScorerError("the challenge's scorer.py wrote no scores", result.logs)
        with produced.open("rb") as handle:
            return _parse(handle.read(2**20), spec)
    finally:
        shutil.rmtree(work, ignore_errors=True)
