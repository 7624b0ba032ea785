"""Build the example challenge bundles from data scikit-learn ships and from seeded generators.

Run `python -m challenges.make_examples` to rewrite `challenges/examples/`; the output is the same
on every run (fixed seeds), so the committed bundles can be checked against it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression

from challenges.make_segmentation import write_segmentation

EXAMPLES = Path(__file__).parent / "examples"
SCHEDULE = {"opens": "2026-01-01T00:00:00Z", "closes": "2030-12-31T18:00:00Z"}


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    description: str
    metric: str
    extra_metrics: list[str]
    target: str
    features: pd.DataFrame
    labels: pd.Series
    groups: pd.Series | None = None  # a hidden column of the labels file: scored per group
    # A simple reference on the boards: its name, and its predictions from (train, test features).
    baseline: tuple[str, Callable[[pd.DataFrame, pd.DataFrame], pd.Series]] | None = None
    # A second, final phase on a test set of its own (features, labels): the example runs in two phases.
    final: tuple[pd.DataFrame, pd.Series] | None = None


def _tumour() -> Example:
    data = load_breast_cancer(as_frame=True)
    features = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    # scikit-learn codes malignant as 0; the positive class of a screening task is the tumour.
    labels = (1 - data.target).rename("diagnosis")
    return Example(
        slug="tumour-detection",
        title="Tumour detection from cell nuclei",
        description=(
            "Predict whether a breast mass is **malignant** (1) or benign (0) from 30 measurements of its "
            "cell nuclei (Wisconsin diagnostic data).\n\nSubmit the probability of malignancy for each `id` "
            "in `test.csv`. Scored by ROC AUC."
        ),
        metric="roc_auc",
        extra_metrics=["accuracy", "f1"],
        target="diagnosis",
        features=features,
        labels=labels,
        baseline=("one-feature logistic regression", _one_feature_logistic("worst_radius", "diagnosis")),
    )


def _digits() -> Example:
    data = load_digits(as_frame=True)
    return Example(
        slug="digits-vision-aid",
        title="Digit recognition for vision aids",
        description=(
            "Read hand-written digits from 8x8 grey-level images (64 pixel columns, 0 to 16), a first step "
            "towards reading aids for people with low vision.\n\nSubmit the digit (0-9) for each `id`. "
            "Scored by accuracy."
        ),
        metric="accuracy",
        extra_metrics=["balanced_accuracy", "f1_macro"],
        target="digit",
        features=data.data.astype(int),
        labels=data.target.rename("digit"),
        baseline=("most frequent digit", lambda train, test: _constant(test, train["digit"].mode()[0])),
    )


def _vessels(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.Series]:
    """`n` vessels calling at the port, and the minutes each waited before berthing."""
    features = pd.DataFrame(
        {
            "vessel_length_m": rng.uniform(80, 400, n).round(1),
            "draft_m": rng.uniform(6, 16, n).round(2),
            "cargo_teu": rng.integers(200, 20000, n),
            "berth_occupancy": rng.uniform(0.2, 1.0, n).round(3),
            "wind_speed_kn": rng.gamma(2.0, 6.0, n).round(1),
            "tide_height_m": rng.normal(0.3, 0.2, n).round(2),
            "arrival_hour": rng.integers(0, 24, n),
            "weekday": rng.integers(0, 7, n),
        }
    )
    delay = (
        20
        + 0.08 * features["vessel_length_m"]
        + 0.004 * features["cargo_teu"]
        + 180 * np.maximum(features["berth_occupancy"] - 0.7, 0) ** 1.5 * 10
        + 1.5 * np.maximum(features["wind_speed_kn"] - 20, 0) ** 1.2
        + 15 * (features["draft_m"] > 14) * (features["tide_height_m"] < 0.2)
        + 10 * features["weekday"].isin([5, 6])
        + rng.normal(0, 12, n)
    )
    return features, delay.round(1).rename("delay_minutes")


def _smartport() -> Example:
    features, delay = _vessels(np.random.default_rng(2026), 2000)
    return Example(
        slug="smartport-vessel-delay",
        title="SmartPort: vessel berthing delay",
        description=(
            "Predict how many minutes a vessel will wait before berthing, from its size, cargo, the port's "
            "occupancy and the weather (synthetic data from a seeded generator).\n\nSubmit the delay in "
            "minutes for each `id`. Scored by RMSE (lower is better)."
        ),
        metric="rmse",
        extra_metrics=["mae", "r2"],
        target="delay_minutes",
        features=features,
        labels=delay,
        baseline=("mean delay", lambda train, test: _constant(test, round(train["delay_minutes"].mean(), 1))),
        # The final phase: the next season's vessels, which the teams' models and code are run on.
        final=_vessels(np.random.default_rng(2027), 600),
    )


def _dyslexia() -> Example:
    rng = np.random.default_rng(1905)
    n = 1200
    dyslexic = rng.random(n) < 0.25
    features = pd.DataFrame(
        {
            "fixation_duration_ms": rng.normal(np.where(dyslexic, 290, 235), 35).round(1),
            "fixation_count": rng.poisson(np.where(dyslexic, 140, 105)),
            "saccade_amplitude_deg": rng.normal(np.where(dyslexic, 1.9, 2.4), 0.45).round(3),
            "regression_rate": rng.beta(np.where(dyslexic, 4, 2.5), 12).round(4),
            "reading_speed_wpm": rng.normal(np.where(dyslexic, 140, 195), 35).round(0),
            "age_years": rng.integers(8, 13, n),
        }
    )
    # Drawn after the features, so adding it changed none of them.
    language = rng.choice(["french", "other", "not recorded"], n, p=[0.68, 0.29, 0.03])
    return Example(
        slug="dyslexia-gaze",
        title="Dyslexia screening from eye movements",
        description=(
            "Flag children who may need a dyslexia assessment from eye-tracking features recorded while "
            "reading (synthetic data from a seeded generator).\n\nSubmit 1 (refer for assessment) or 0 for "
            "each `id`. Scored by F1 of the positive class.\n\nA screening tool must work for every "
            "child: the board also shows each entry's F1 on its worst group of the language spoken at home, "
            "and the gap between groups."
        ),
        metric="f1",
        extra_metrics=["accuracy", "precision", "recall"],
        target="referral",
        features=features,
        labels=pd.Series(dyslexic.astype(int), name="referral"),
        groups=pd.Series(language, name="home_language"),
        baseline=(
            "slow reader rule",
            lambda train, test: (test["reading_speed_wpm"] < 160).astype(int).set_axis(test.index),
        ),
    )


def _constant(test: pd.DataFrame, value: object) -> pd.Series:
    return pd.Series([value] * len(test), index=test.index)


def _one_feature_logistic(feature: str, target: str) -> Callable[[pd.DataFrame, pd.DataFrame], pd.Series]:
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> pd.Series:
        model = LogisticRegression().fit(train[[feature]], train[target])
        return pd.Series(model.predict_proba(test[[feature]])[:, 1].round(4), index=test.index)

    return predict


STARTER = '''"""Starter kit for "{title}": trains on train.csv, writes submission.csv ready to upload.

    python starter.py      # with train.csv and test.csv (download them from the challenge page) beside it
    riality submit {slug} submission.csv     # or upload it on the challenge's team page

Scored by {metric}. Change the model, the features, anything: the format of submission.csv is what counts.
"""

import pandas as pd
from sklearn.ensemble import {model}

train = pd.read_csv("train.csv", dtype={{"id": str}})
test = pd.read_csv("test.csv", dtype={{"id": str}})
features = [c for c in train.columns if c not in ("id", "{target}")]
model = {model}(random_state=0).fit(train[features], train["{target}"])
predicted = {predict}
pd.DataFrame({{"id": test["id"], "{target}": predicted}}).to_csv("submission.csv", index=False)
print(f"wrote submission.csv: {{len(test)}} rows")
'''


def starter_kit(example: Example) -> str:
    """A short script that trains on train.csv and writes a valid submission for the example."""
    regression = example.metric in ("rmse", "mae", "r2")
    if example.metric == "roc_auc":
        predict = "model.predict_proba(test[features])[:, 1].round(4)"
    else:
        predict = "model.predict(test[features])"
    model = "HistGradientBoostingRegressor" if regression else "HistGradientBoostingClassifier"
    return STARTER.format(
        title=example.title,
        slug=example.slug,
        metric=example.metric,
        target=example.target,
        model=model,
        predict=predict,
    )


def write_example(example: Example, root: Path, *, test_fraction: float = 0.4) -> Path:
    folder = root / example.slug
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "hidden").mkdir(parents=True, exist_ok=True)
    n = len(example.features)
    rng = np.random.default_rng(7)
    order = rng.permutation(n)
    test_rows = np.sort(order[: round(n * test_fraction)])
    train_rows = np.sort(order[round(n * test_fraction) :])
    ids = pd.Series([f"{example.slug[:3]}-{i:05d}" for i in range(n)], name="id")
    frame = pd.concat([ids, example.features.reset_index(drop=True)], axis=1)
    labels = example.labels.reset_index(drop=True)
    train = frame.iloc[train_rows].assign(**{example.target: labels.iloc[train_rows].to_numpy()})
    train.to_csv(folder / "data" / "train.csv", index=False)
    frame.iloc[test_rows].to_csv(folder / "data" / "test.csv", index=False)
    hidden = pd.DataFrame({"id": ids.iloc[test_rows], example.target: labels.iloc[test_rows]})
    if example.groups is not None:
        hidden[example.groups.name] = example.groups.reset_index(drop=True).iloc[test_rows].to_numpy()
    hidden.to_csv(folder / "hidden" / "labels.csv", index=False)
    (folder / "starter").mkdir(exist_ok=True)
    (folder / "starter" / "starter.py").write_text(starter_kit(example))
    if example.baseline is not None:
        name, predict = example.baseline
        (folder / "baselines").mkdir(exist_ok=True)
        test = frame.iloc[test_rows]
        predicted = predict(train, test)
        pd.DataFrame({"id": test["id"], example.target: predicted.to_numpy()}).to_csv(
            folder / "baselines" / f"{name}.csv", index=False
        )
    manifest = {
        "slug": example.slug,
        "title": example.title,
        "description": example.description,
        "kinds": ["predictions", "model", "code"],
        "metric": example.metric,
        "extra_metrics": example.extra_metrics,
        "id_column": "id",
        "target_column": example.target,
        "public_fraction": 0.3,
        "schedule": SCHEDULE,
        "limits": {"per_day": 20, "total": 200, "team_size": 4, "final_selections": 2},
        **({"groups": {"column": example.groups.name, "min_size": 30}} if example.groups is not None else {}),
        "data": {
            "train": "data/train.csv",
            "test_features": "data/test.csv",
            "test_labels": "hidden/labels.csv",
            "starter_kit": "starter/starter.py",
        },
    }
    if example.final is not None:
        _final_phase(example, folder, manifest)
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return folder


FINAL_OPENS = "2030-06-30T18:00:00Z"


def _final_phase(example: Example, folder: Path, manifest: dict[str, object]) -> None:
    """The example in two phases: development on the test set written above, then a final phase on a
    test set of its own that takes models and code only, into which each team's final selections (else
    its best) of the development phase migrate when it opens."""
    assert example.final is not None
    features, labels = example.final
    ids = pd.Series([f"{example.slug[:3]}-f{i:04d}" for i in range(len(features))], name="id")
    pd.concat([ids, features.reset_index(drop=True)], axis=1).to_csv(
        folder / "data" / "final_test.csv", index=False
    )
    pd.DataFrame({"id": ids, example.target: labels.reset_index(drop=True)}).to_csv(
        folder / "hidden" / "final_labels.csv", index=False
    )
    manifest.pop("schedule")
    manifest["phases"] = [
        {
            "key": "development",
            "title": "Development",
            "description": "Predictions, models or code, scored on this season's vessels.",
            "schedule": {"opens": SCHEDULE["opens"], "closes": FINAL_OPENS},
        },
        {
            "key": "final",
            "title": "Final",
            "description": (
                "Models and code only, run on the next season's vessels (released when the phase opens). "
                "Each team's final selections (else its best) of the development phase are run again here."
            ),
            "schedule": {"opens": FINAL_OPENS, "closes": SCHEDULE["closes"]},
            "migrate": True,
            "kinds": ["model", "code"],
            "limits": {"per_day": 3},
            "data": {"test_features": "data/final_test.csv", "test_labels": "hidden/final_labels.csv"},
        },
    ]


def all_examples() -> list[Example]:
    return [_tumour(), _digits(), _smartport(), _dyslexia()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=EXAMPLES)
    args = parser.parse_args()
    for example in all_examples():
        print(write_example(example, args.out))
    print(write_segmentation(args.out))


if __name__ == "__main__":
    main()
