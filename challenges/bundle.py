"""Loading and validating a challenge bundle folder before anything is imported.

`load_bundle` reads everything into memory and checks it all; it either returns a complete
`Bundle` or raises `BundleError` listing every problem with its path. Importing happens only
from a `Bundle`, so a broken bundle can never be half-imported.
"""

from __future__ import annotations

import ast
import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from challenges.spec import ChallengeSpec
from scoring.errors import PredictionFileError
from scoring.metrics import Output
from scoring.truth import GroundTruth, LabelsFileError, load_truth
from scoring.validate import FileFormat, read_predictions

MANIFEST = "challenge.yaml"
MAX_FILE_BYTES = 512 * 1024 * 1024


class FileRole(StrEnum):
    TRAIN = "train"
    TEST_FEATURES = "test_features"
    TEST_LABELS = "test_labels"
    SAMPLE_SUBMISSION = "sample_submission"
    SCORER = "scorer"  # the organiser's scorer.py: runs in its own container, never served


# The name each file is served under; labels are never served.
DOWNLOAD_NAMES = {
    FileRole.TRAIN: "train.csv",
    FileRole.TEST_FEATURES: "test.csv",
    FileRole.SAMPLE_SUBMISSION: "sample_submission.csv",
    FileRole.TEST_LABELS: "labels.csv",
    FileRole.SCORER: "scorer.py",
}
PUBLIC_ROLES = frozenset({FileRole.TRAIN, FileRole.TEST_FEATURES, FileRole.SAMPLE_SUBMISSION})


class BundleError(Exception):
    def __init__(self, root: Path, problems: list[str]) -> None:
        self.root = root
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"challenge bundle {root} is invalid ({len(problems)} problem(s)):\n{listing}")


@dataclass(frozen=True, slots=True)
class BundleFile:
    role: FileRole
    name: str
    data: bytes

    @property
    def public(self) -> bool:
        return self.role in PUBLIC_ROLES


@dataclass(frozen=True, slots=True)
class Bundle:
    root: Path
    spec: ChallengeSpec
    files: tuple[BundleFile, ...]
    truth: GroundTruth

    def file(self, role: FileRole) -> BundleFile | None:
        return next((f for f in self.files if f.role is role), None)


def _format_validation(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check its spelling)"
        elif item["type"] != "missing" and "input" in item and not isinstance(item["input"], dict):
            message = f"{message} (got {item['input']!r})"
        problems.append(f"{MANIFEST}: {where}: {message}")
    return problems


def _read_manifest(root: Path) -> tuple[ChallengeSpec | None, list[str]]:
    path = root / MANIFEST
    if not path.is_file():
        return None, [f"{MANIFEST}: not found in {root}"]
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [f"{MANIFEST}: not valid YAML: {exc}"]
    if not isinstance(raw, dict):
        return None, [
            f"{MANIFEST}: expected a mapping of fields (slug, title, metric, ...), got {type(raw).__name__}"
        ]
    try:
        return ChallengeSpec.model_validate(raw), []
    except ValidationError as exc:
        return None, _format_validation(exc)


def _read_file(root: Path, field: str, relative: str, problems: list[str]) -> bytes | None:
    where = f"{MANIFEST}: {field}"
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        problems.append(f"{where}: {relative!r} must be a path inside the bundle, without '..'")
        return None
    path = (root / candidate).resolve()
    if not path.is_relative_to(root.resolve()):
        problems.append(f"{where}: {relative!r} leads outside the bundle")
        return None
    if not path.is_file():
        problems.append(f"{where}: file {relative!r} not found in the bundle")
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.append(f"{where}: {relative!r} is larger than {MAX_FILE_BYTES:,} bytes")
        return None
    return path.read_bytes()


def _csv_columns(data: bytes, field: str, problems: list[str]) -> pd.DataFrame | None:
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        problems.append(f"data.{field}: not a readable CSV: {exc}")
        return None


def _check_features(data: bytes, spec: ChallengeSpec, truth: GroundTruth, problems: list[str]) -> None:
    frame = _csv_columns(data, "test_features", problems)
    if frame is None:
        return
    if spec.id_column not in frame.columns:
        problems.append(f"data.test_features: no {spec.id_column!r} column (the id_column)")
        return
    if spec.target_column in frame.columns:
        problems.append(
            f"data.test_features: holds the target column {spec.target_column!r}; it would leak the labels"
        )
    ids = pd.Index(frame[spec.id_column].str.strip())
    if not ids.is_unique or set(ids) != set(truth.ids):
        problems.append("data.test_features: its ids must be exactly the ids of data.test_labels, each once")


def _check_train(data: bytes, spec: ChallengeSpec, problems: list[str]) -> None:
    frame = _csv_columns(data, "train", problems)
    if frame is not None and spec.target_column not in frame.columns:
        problems.append(f"data.train: no {spec.target_column!r} column (the target_column)")


def _check_scorer(source: bytes, problems: list[str]) -> None:
    """Parse (never run) the organiser's scorer: it must be Python with a top-level score(labels, predictions)."""
    try:
        tree = ast.parse(source.decode("utf-8"), filename="scorer.py")
    except (SyntaxError, UnicodeDecodeError) as exc:
        problems.append(f"scorer: not valid Python: {exc}")
        return
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    score = functions.get("score")
    if score is None or len(score.args.args) != 2:
        problems.append(
            "scorer: expected a top-level function score(labels, predictions) returning a dict of metrics"
        )


def _sample_submission(spec: ChallengeSpec, truth: GroundTruth) -> bytes:
    """A constant, label-free baseline that shows the expected format."""
    output = spec.primary_metric.needs
    frame = pd.DataFrame({spec.id_column: truth.ids})
    if output is Output.LABEL:
        frame[spec.target_column] = truth.classes[0]
    elif output is Output.PROBABILITY and len(truth.classes) > 2:
        for c in truth.classes:
            frame[f"proba_{c}"] = round(1 / len(truth.classes), 6)
    elif output is Output.PROBABILITY:
        frame[spec.target_column] = 0.5
    else:
        frame[spec.target_column] = 0.0
    return frame.to_csv(index=False).encode()


def load_bundle(root: Path | str) -> Bundle:
    root = Path(root)
    spec, problems = _read_manifest(root)
    if spec is None:
        raise BundleError(root, problems)
    raw: dict[FileRole, bytes] = {}
    for role in FileRole:
        relative = spec.scorer if role is FileRole.SCORER else getattr(spec.data, role.value)
        if relative is not None:
            field = role.value if role is FileRole.SCORER else f"data.{role.value}"
            data = _read_file(root, field, relative, problems)
            if data is not None:
                raw[role] = data
    if FileRole.SCORER in raw:
        _check_scorer(raw[FileRole.SCORER], problems)
    truth = None
    if FileRole.TEST_LABELS in raw:
        try:
            truth = load_truth(
                raw[FileRole.TEST_LABELS],
                id_column=spec.id_column,
                target_column=spec.target_column,
                task=spec.task,
                fraction=spec.public_fraction,
                seed=spec.seed,
            )
        except LabelsFileError as exc:
            problems.append(f"data.test_labels: {exc}")
    if truth is not None:
        if FileRole.TEST_FEATURES in raw:
            _check_features(raw[FileRole.TEST_FEATURES], spec, truth, problems)
        if FileRole.TRAIN in raw:
            _check_train(raw[FileRole.TRAIN], spec, problems)
        if FileRole.SAMPLE_SUBMISSION not in raw and spec.data.sample_submission is None:
            raw[FileRole.SAMPLE_SUBMISSION] = _sample_submission(spec, truth)
        if FileRole.SAMPLE_SUBMISSION in raw:
            try:
                read_predictions(raw[FileRole.SAMPLE_SUBMISSION], spec.expectation(truth), FileFormat.CSV)
            except PredictionFileError as exc:
                problems.append(f"data.sample_submission: would be refused as a submission: {exc}")
    if problems or truth is None:
        raise BundleError(root, problems)
    files = tuple(BundleFile(role=role, name=DOWNLOAD_NAMES[role], data=data) for role, data in raw.items())
    return Bundle(root=root, spec=spec, files=files, truth=truth)
