"""The Ladder's released scores for a fixed, hand-worked sequence; and the standard error it uses."""

from __future__ import annotations

import importlib.util
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from challenges.spec import ChallengeSpec
from scoring.ladder import beats, paired_standard_error, row_losses, run_ladder
from scoring.metrics import Output, Task, get_metric
from scoring.ranking import Board, BoardRules, Ranking, ScoredSubmission, TeamActivity


def losses(wrong: set[int], n: int = 10) -> np.ndarray:
    """0/1 losses of 10 rows: 1 where the submission is wrong."""
    return np.array([1.0 if i in wrong else 0.0 for i in range(n)])


def test_the_standard_error_is_the_sample_deviation_of_the_differences_over_root_n() -> None:
    # Differences: one row +1, one row -1, eight 0: mean 0, sample variance 2/9.
    assert paired_standard_error(losses({0}), losses({1})) == pytest.approx(math.sqrt(2 / 9) / math.sqrt(10))
    assert paired_standard_error(losses(set()), losses(set())) == 0.0


def test_a_hand_worked_sequence() -> None:
    """Ten public rows, 0/1 loss. Worked by hand:

    1. wrong on {0,1,2,3}: loss 0.4, the first: released 0.4.
    2. wrong on {0,1,2}: one row better. d = -1 on row 3, else 0: mean -0.1, sd sqrt(0.1 * 0.9 * 10/9)
       = 0.3162, se 0.1: improvement 0.1 is not more than 0.1: kept at 0.4 (the released one stays #1).
       (One row is always exactly one standard error: 1/n both.)
    3. wrong on {0}: three rows better than #1. d = -1 on rows 1-3: mean -0.3, sample sd
       sqrt(0.3 * 0.7 * 10/9) = 0.4830, se 0.1528 < 0.3: released 0.1 (#3).
    4. wrong on {0, 4}: worse than #3: kept at 0.1.
    5. wrong on {}: one row better than #3. d = -1 on row 0: improvement 0.1, se 0.1: kept at 0.1.
    6. wrong on {} again: the same, still kept: repeating a submission never moves the Ladder.
    """
    sequence = [
        losses({0, 1, 2, 3}),
        losses({0, 1, 2}),
        losses({0}),
        losses({0, 4}),
        losses(set()),
        losses(set()),
    ]
    steps = run_ladder(sequence)
    assert [s.released_loss for s in steps] == pytest.approx([0.4, 0.4, 0.1, 0.1, 0.1, 0.1])
    assert [s.released_index for s in steps] == [0, 0, 2, 2, 2, 2]
    assert [s.changed for s in steps] == [True, False, True, False, False, False]
    assert [s.loss for s in steps] == pytest.approx([0.4, 0.3, 0.1, 0.2, 0.0, 0.0])


def test_a_clear_improvement_on_many_rows_is_released() -> None:
    rng = np.random.default_rng(0)
    old = (rng.random(2000) < 0.30).astype(float)
    new = np.where(rng.random(2000) < 0.3, 0.0, old)  # right on 30 % of the rows it had wrong
    assert beats(new, old) and not beats(old, new)


def test_the_simulation_shows_a_smaller_public_private_gap_with_the_ladder() -> None:
    """bench/ladder.py's attacker, smaller: hill-climbing on the shown public score."""
    path = Path(__file__).resolve().parents[2] / "bench" / "ladder.py"
    spec = importlib.util.spec_from_file_location("bench_ladder", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    gaps = {}
    for ladder in (False, True):
        runs = [bench.attack(1000, 600, 10, seed, ladder=ladder) for seed in range(3)]
        gaps[ladder] = float(np.mean([public - private for public, private in runs]))
    assert gaps[False] > 0.05 and gaps[True] < gaps[False] / 2, gaps


@pytest.mark.parametrize("name", ["accuracy", "log_loss", "mae", "rmse", "mse", "mape"])
def test_row_losses_average_to_the_metric(name: str) -> None:
    """Each metric the Ladder accepts is the mean of its per-row losses (RMSE: the root of it)."""
    rng = np.random.default_rng(7)
    metric = get_metric(name)
    if metric.task is Task.REGRESSION:
        y, predicted = rng.normal(5, 2, 200), rng.normal(5, 2, 200)
    elif metric.needs is Output.PROBABILITY:
        y, predicted = rng.integers(0, 3, 200), rng.dirichlet([1, 1, 1], 200)
    else:
        y, predicted = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    mean = float(np.mean(row_losses(name, y, predicted)))
    expected = {"accuracy": 1 - metric(y, predicted, (0, 1, 2)), "rmse": metric(y, predicted) ** 2}
    assert mean == pytest.approx(expected.get(name, metric(y, predicted, (0, 1, 2))), rel=1e-12)


def _entry(submission_id: int, score: float, *, released: bool) -> ScoredSubmission:
    created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=submission_id)
    return ScoredSubmission(submission_id, 1, created, score, score, {}, released=released)


def test_under_the_ladder_the_public_board_takes_the_release_and_the_private_board_the_best() -> None:
    subs = [_entry(1, 0.80, released=True), _entry(2, 0.81, released=False)]
    teams = {1: TeamActivity("ada", 2, None)}
    for ladder, public_entry in ((False, 2), (True, 1)):
        rules = BoardRules(ladder=ladder)
        public = Ranking.of(Board.PUBLIC, {1: subs}, higher_is_better=True, rules=rules).entries(teams)
        private = Ranking.of(Board.PRIVATE, {1: subs}, higher_is_better=True, rules=rules).entries(teams)
        assert [e.submission_id for e in public] == [public_entry]
        assert [e.submission_id for e in private] == [2]  # the private board is not the Ladder's


def test_a_ladder_needs_a_metric_with_per_row_losses() -> None:
    base = {
        "slug": "a-ladder",
        "title": "X",
        "target_column": "y",
        "data": {"test_features": "a.csv", "test_labels": "b.csv"},
        "public_board": "ladder",
    }
    assert ChallengeSpec.model_validate({**base, "metric": "accuracy"}).board_rules.ladder
    with pytest.raises(ValidationError, match="public_board: ladder compares per-row losses"):
        ChallengeSpec.model_validate({**base, "metric": "f1"})
