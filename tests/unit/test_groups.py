"""Per-group scores: each reported group against scikit-learn on that group's rows, small groups
hidden, the worst group and the disparity, ranking by the worst group, and bad group columns."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.metrics import mean_squared_error, roc_auc_score

from challenges.spec import ChallengeSpec, RankBy
from scoring.groups import worst_and_disparity
from scoring.truth import LabelsFileError
from scoring.validate import FileFormat, read_predictions

rng = np.random.default_rng(7)
SITES = ["north"] * 500 + ["south"] * 400 + ["east"] * 70 + ["west"] * 25 + ["isle"] * 5
N = len(SITES)


def spec(**changes: object) -> ChallengeSpec:
    raw = {
        "slug": "fair-test",
        "title": "Fair",
        "metric": "roc_auc",
        "extra_metrics": ["accuracy"],
        "target_column": "y",
        "groups": "site",
        "data": {"test_features": "data/test.csv", "test_labels": "hidden/labels.csv"},
        **changes,
    }
    return ChallengeSpec.model_validate(raw)


def labels_csv(y: np.ndarray, sites: list[str]) -> bytes:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(y))], "y": y, "site": sites})
    return frame.to_csv(index=False).encode()


def predictions_csv(column: str, values: np.ndarray) -> bytes:
    return (
        pd.DataFrame({"id": [f"r{i}" for i in range(len(values))], column: values})
        .to_csv(index=False)
        .encode()
    )


Y = rng.integers(0, 2, N)
P = np.clip(rng.random(N) * 0.7 + Y * 0.3 * (np.array(SITES) != "south"), 0, 1)  # worse on the south


def scored(challenge: ChallengeSpec, labels: bytes, predictions: bytes):  # type: ignore[no-untyped-def]
    truth = challenge.read_truth(labels)
    values = read_predictions(predictions, challenge.expectation(truth), FileFormat.CSV).values
    return truth, challenge.score(truth, values)


def test_each_reported_group_matches_scikit_learn_on_its_rows_and_small_groups_are_hidden() -> None:
    challenge = spec()
    truth, scores = scored(challenge, labels_csv(Y, SITES), predictions_csv("y", P))
    sites = np.array(SITES)
    for name, subset in (("public", truth.public), ("private", truth.private)):
        expected = {}
        for site in sorted(set(SITES)):
            rows = subset & (sites == site)
            if rows.sum() >= 30:
                expected[site] = roc_auc_score(Y[rows], P[rows])
        assert scores.groups[name].keys() == expected.keys()
        for site, value in expected.items():
            assert scores.groups[name][site] == pytest.approx(value, abs=1e-12)
        assert "isle" not in scores.groups[name] and "west" not in scores.groups[name]
    # 70 rows of the east split 30/70: too few in the public subset, enough in the private one.
    sizes = truth.group_sizes()
    assert sizes["public"]["east"] + sizes["private"]["east"] == 70
    assert ("east" in scores.groups["public"]) == (sizes["public"]["east"] >= 30)
    assert ("east" in scores.groups["private"]) == (sizes["private"]["east"] >= 30)
    assert sizes["public"]["isle"] + sizes["private"]["isle"] == 5  # sizes name every group
    # Ranked overall by default; the worst group is the south, where the predictions are noise.
    assert scores.public_score == scores.public["roc_auc"]
    worst, gap = worst_and_disparity(scores.groups["public"], higher_is_better=True)
    assert worst == scores.groups["public"]["south"] == min(scores.groups["public"].values())
    assert gap == pytest.approx(max(scores.groups["public"].values()) - worst)


def test_a_challenge_ranked_by_its_worst_group_ranks_that_score() -> None:
    challenge = spec(rank_by="worst_group", groups={"column": "site", "min_size": 10})
    _, scores = scored(challenge, labels_csv(Y, SITES), predictions_csv("y", P))
    assert challenge.rank_by is RankBy.WORST_GROUP
    assert "west" in scores.groups["private"]  # min_size 10 reports it (25 rows: about 17 private)
    assert scores.public_score == min(scores.groups["public"].values())
    assert scores.private_score == min(scores.groups["private"].values())
    assert scores.public_score < scores.public["roc_auc"]


def test_for_a_loss_the_worst_group_is_the_highest() -> None:
    challenge = spec(metric="rmse", extra_metrics=[], rank_by="worst_group")
    y = rng.normal(10, 2, N)
    noise = np.where(np.array(SITES) == "north", 3.0, 0.5)
    predicted = y + rng.normal(0, 1, N) * noise
    truth, scores = scored(challenge, labels_csv(y, SITES), predictions_csv("y", predicted))
    north = truth.private & (np.array(SITES) == "north")
    assert scores.groups["private"]["north"] == pytest.approx(
        math.sqrt(mean_squared_error(y[north], predicted[north]))
    )
    assert scores.private_score == scores.groups["private"]["north"] == max(scores.groups["private"].values())


def test_worst_and_disparity_skip_undefined_groups() -> None:
    assert worst_and_disparity({"a": 0.9, "b": None, "c": math.nan, "d": 0.6}, True) == (
        0.6,
        pytest.approx(0.3),
    )
    assert worst_and_disparity({"a": 2.0, "d": 5.0}, False) == (5.0, 3.0)
    assert all(math.isnan(v) for v in worst_and_disparity({"a": None}, True))


def test_a_bad_group_column_is_named() -> None:
    with pytest.raises(LabelsFileError, match="no column 'site'"):
        spec().read_truth(pd.DataFrame({"id": ["a", "b"], "y": [0, 1]}).to_csv(index=False).encode())
    empty = io.StringIO("id,y,site\na,0,north\nb,1, \n")
    with pytest.raises(LabelsFileError, match="line 3: empty group 'site'"):
        spec().read_truth(empty.getvalue().encode())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"groups": None, "rank_by": "worst_group"}, "rank_by: worst_group needs `groups"),
        ({"groups": "y"}, "groups.column must differ"),
        ({"groups": {"column": "site", "min_size": 0}}, "greater than or equal to 1"),
    ],
)
def test_group_settings_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**changes)
