"""A scoring program's side of the spec and its output: what challenge.yaml may say, the command it
runs with Codabench's paths, and the scores.json (or CodaLab scores.txt) it writes."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from challenges.spec import ChallengeSpec
from runner.custom_scoring import ScorerError
from runner.programs import command_of, parse_scores

BASE: dict[str, Any] = {
    "slug": "masks",
    "title": "Masks",
    "kinds": ["files"],
    "metric": "dice",
    "program": {
        "folder": "program",
        "columns": [{"key": "dice", "label": "Dice"}, {"key": "hausdorff", "higher_is_better": False}],
    },
    "data": {"reference": "reference"},
}


def spec(**changes: Any) -> ChallengeSpec:
    return ChallengeSpec.model_validate(BASE | changes)


def test_the_program_names_the_metrics_with_their_directions() -> None:
    made = spec()
    assert made.primary_metric.higher_is_better and made.primary_metric.description == "Dice"
    assert [(m.name, m.higher_is_better) for m in made.extras] == [("hausdorff", False)]
    assert not made.has_uncertainty


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "f1"}, "metric 'f1' must be one of the program's columns (dice, hausdorff)"),
        ({"kinds": ["predictions"]}, "takes `kinds: [files]`"),
        ({"data": {}}, "needs data.reference"),
        ({"data": {"reference": "r", "test_labels": "l.csv"}}, "cannot also set data.test_labels"),
        ({"public_board": "ladder"}, "cannot also set public_board: ladder"),
        (
            {"program": {"folder": "p", "columns": [{"key": "a"}, {"key": "a"}]}, "metric": "a"},
            "each key once",
        ),
        ({"program": {"folder": "p", "columns": [{"key": "no spaces"}]}}, "String should match pattern"),
    ],
)
def test_an_incoherent_program_challenge_is_refused_with_why(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(
        ValidationError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        spec(**changes)


def test_files_without_a_program_are_refused() -> None:
    without = {k: v for k, v in BASE.items() if k != "program"} | {"target_column": "y", "metric": "mae"}
    with pytest.raises(ValidationError, match="kinds: files needs a scoring program"):
        ChallengeSpec.model_validate(without)


def test_the_command_gets_codabench_paths() -> None:
    made = spec(program=BASE["program"] | {"command": "python3 $program/score.py $input $output --ref=$ref"})
    assert command_of(made) == [
        "python3",
        "/app/program/score.py",
        "/app/input",
        "/app/output",
        "--ref=/app/input/ref",
    ]


def test_one_object_serves_both_boards() -> None:
    scores = parse_scores(b'{"dice": 0.8, "hausdorff": 3}', spec())
    assert (scores.public_score, scores.private_score) == (0.8, 0.8)
    assert scores.public == {"dice": 0.8, "hausdorff": 3.0}


def test_public_and_private_objects_fill_each_board() -> None:
    raw = b'{"public": {"dice": 0.8, "hausdorff": 3}, "private": {"dice": 0.7, "hausdorff": null}}'
    scores = parse_scores(raw, spec())
    assert (scores.public_score, scores.private_score) == (0.8, 0.7)
    assert math.isnan(scores.private["hausdorff"])


def test_codalab_scores_txt_is_read() -> None:
    scores = parse_scores(b"dice: 0.5\nhausdorff: 2.5\n", spec(), "scores.txt")
    assert scores.public == {"dice": 0.5, "hausdorff": 2.5}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "scores.json is not readable"),
        (b'{"dice": 0.5}', "column 'hausdorff' is None; expected a number"),
        (b'{"dice": "high", "hausdorff": 1}', "column 'dice' is 'high'"),
        (b'{"dice": true, "hausdorff": 1}', "column 'dice' is True"),
        (b"[1, 2]", "expected an object of board columns to numbers"),
        # Once an OverflowError, which the worker took for its own failure: 5 retries, then "could not score".
        (b'{"dice": 1' + b"0" * 400 + b', "hausdorff": 1}', "column 'dice' is a number of 401 digits"),
    ],
)
def test_unusable_scores_are_the_programs_failure(raw: bytes, message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        parse_scores(raw, spec())
