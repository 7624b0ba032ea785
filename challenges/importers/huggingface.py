"""Hugging Face competitions (github.com/huggingface/competitions): a competition's private repository
(`conf.json`, `solution.csv`, the `*_DESC.md` pages) zipped with its public dataset (`test.csv`, and
optionally `train.csv`, `sample_submission.csv`), translated into a riality bundle.

How that platform scores, which the translation keeps: `solution.csv` holds the id, the target and a
`split` column (public / private); a submission is scored with `getattr(sklearn.metrics, EVAL_METRIC)`
on each split's rows. What riality cannot honour is said in the import report, never dropped silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from challenges.importers.common import slug
from challenges.importers.report import Imported, Refused

CONF = "conf.json"
SOLUTION = "solution.csv"
SPLIT = "split"

# EVAL_METRIC (a scikit-learn function, or the platform's own names) → riality's metric.
METRICS = {
    "accuracy_score": "accuracy",
    "balanced_accuracy_score": "balanced_accuracy",
    "f1_score": "f1",
    "f1-macro": "f1_macro",
    "precision_score": "precision",
    "recall_score": "recall",
    "roc_auc_score": "roc_auc",
    "average_precision_score": "average_precision",
    "log_loss": "log_loss",
    "matthews_corrcoef": "matthews_corrcoef",
    "cohen_kappa_score": "cohen_kappa",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "median_absolute_error": "median_absolute_error",
    "mean_absolute_percentage_error": "mape",
    "r2_score": "r2",
}
# conf.json keys that have no counterpart here (the space's look, the hub's dataset, its own runner).
IGNORED = {
    "LOGO": "the competition's logo",
    "DATASET": "the Hugging Face dataset of the public files (the zip's own files are served instead)",
    "SUBMISSION_FILENAMES": "submission file names (riality takes one prediction file per submission)",
}
PAGES = ("COMPETITION_DESC.md", "DATASET_DESC.md", "SUBMISSION_DESC.md", "RULES.md")


def detect(root: Path) -> bool:
    return (root / CONF).is_file() and (root / SOLUTION).is_file()


def _title(root: Path) -> str:
    """The first heading of COMPETITION_DESC.md (that platform keeps the name in its space, not here)."""
    page = root / "COMPETITION_DESC.md"
    if page.is_file():
        for line in page.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip().startswith("#"):
                return line.strip().lstrip("#").strip()[:200] or "Imported competition"
    return "Imported competition"


def _description(root: Path) -> str:
    parts = [
        (root / name).read_text(encoding="utf-8", errors="replace")
        for name in PAGES
        if (root / name).is_file()
    ]
    return "\n\n".join(p.strip() for p in parts if p.strip())


def _conf(root: Path) -> dict[str, Any]:
    try:
        conf = json.loads((root / CONF).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(CONF, f"not readable JSON: {exc}") from None
    if not isinstance(conf, dict):
        raise Refused(CONF, "expected a JSON object of settings")
    return conf


def _metric(conf: dict[str, Any], notes: list[str]) -> str:
    name = str(conf.get("EVAL_METRIC", ""))
    if name == "custom":
        raise Refused(
            f"{CONF}: EVAL_METRIC",
            "custom (metric.py) needs a scoring program, which riality does not run yet; "
            f"expected one of {', '.join(METRICS)}",
        )
    if name not in METRICS:
        raise Refused(
            f"{CONF}: EVAL_METRIC",
            f"{name!r} is not one riality scores; expected one of {', '.join(METRICS)}",
        )
    if conf.get("SCORING_METRIC"):
        notes.append(f"SCORING_METRIC {conf['SCORING_METRIC']!r} is only for custom metrics there: ignored")
    return METRICS[name]


def _schedule(conf: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    end = conf.get("END_DATE")
    if not end:
        return {}
    try:
        closes = datetime.strptime(str(end), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(f"{CONF}: END_DATE", f"{end!r}: expected a date as YYYY-MM-DD") from None
    notes.append(
        f"END_DATE {end}: submissions close at {closes.isoformat()} (the start of that day, UTC, as there)"
    )
    return {"closes": closes.isoformat()}


def _columns(conf: dict[str, Any], solution: pd.DataFrame) -> tuple[str, str]:
    id_column = str(conf.get("SUBMISSION_ID_COLUMN") or "id")
    declared = [c.strip() for c in str(conf.get("SUBMISSION_COLUMNS") or "").split(",") if c.strip()]
    targets = [c for c in (declared or list(solution.columns)) if c not in (id_column, SPLIT)]
    if len(targets) != 1:
        raise Refused(
            f"{CONF}: SUBMISSION_COLUMNS",
            f"{len(targets)} target columns ({', '.join(targets) or 'none'}); riality scores one target column",
        )
    for column in (id_column, targets[0], SPLIT):
        if column not in solution.columns:
            raise Refused(SOLUTION, f"no column {column!r} (found: {', '.join(solution.columns)})")
    return id_column, targets[0]


def translate(root: Path, out: Path) -> Imported:
    """Write a riality bundle for the competition in `root` to `out` (Refused if it cannot be)."""
    conf = _conf(root)
    notes: list[str] = []
    try:
        solution = pd.read_csv(root / SOLUTION, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise Refused(SOLUTION, f"not a readable CSV: {exc}") from None
    id_column, target = _columns(conf, solution)
    metric = _metric(conf, notes)
    if not (root / "test.csv").is_file():
        raise Refused(
            "test.csv", "the public test features are needed (from the competition's public dataset)"
        )
    kinds = ["predictions"]
    if str(conf.get("COMPETITION_TYPE", "generic")) == "script":
        notes.append(
            "COMPETITION_TYPE script: teams there submit a model repository whose script.py writes "
            "submission.csv; here they upload prediction files, or code as riality's code kind (predict.py)"
        )
        kinds.append("code")
    limits: dict[str, Any] = {}
    for key, field in (("SUBMISSION_LIMIT", "per_day"), ("SELECTION_LIMIT", "final_selections")):
        if conf.get(key) is not None:
            limits[field] = int(conf[key])
    if conf.get("TIME_LIMIT") is not None and "code" in kinds:
        limits["time_s"] = int(conf["TIME_LIMIT"]) * 60  # minutes there
    rows = conf.get("SUBMISSION_ROWS")
    if rows is not None and int(rows) != len(solution):
        notes.append(
            f"SUBMISSION_ROWS {rows} differs from solution.csv's {len(solution)} rows: the file's count is used"
        )
    for key, what in IGNORED.items():
        if conf.get(key):
            notes.append(f"{key}: {what}: not used")
    title = _title(root)
    manifest: dict[str, Any] = {
        "slug": slug(title, "hf-competition"),
        "title": title,
        "description": _description(root),
        "kinds": kinds,
        "metric": metric,
        "id_column": id_column,
        "target_column": target,
        "split_column": SPLIT,
        "schedule": _schedule(conf, notes),
        "limits": limits,
        "data": {"test_features": "test.csv", "test_labels": SOLUTION},
    }
    higher = conf.get("EVAL_HIGHER_IS_BETTER")
    out.mkdir(parents=True)
    for name in ("test.csv", "train.csv", "sample_submission.csv", SOLUTION):
        if (root / name).is_file():
            (out / name).write_bytes((root / name).read_bytes())
    if (out / "train.csv").is_file():
        manifest["data"]["train"] = "train.csv"
    if (out / "sample_submission.csv").is_file():
        manifest["data"]["sample_submission"] = "sample_submission.csv"
    (out / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return Imported(
        "Hugging Face competitions",
        out,
        notes,
        higher_is_better=None if higher is None else bool(int(higher)),
    )
