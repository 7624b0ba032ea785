"""The in-container harness turns what predict() returns into the predictions file's columns:
probabilities in a DataFrame by their names, in an array by the sorted order of the classes."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from runner import execution
from runner.image import harness

CLASSES = ["a", "b", "c"]


def args(output: str = "probability", classes: list[str] = CLASSES) -> argparse.Namespace:
    return argparse.Namespace(output=output, classes=",".join(classes), target_column="y")


def test_named_probability_columns_are_matched_by_name_whatever_their_order() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    ordered = pd.DataFrame(proba, columns=["proba_a", "proba_b", "proba_c"])
    shuffled = ordered[["proba_c", "proba_a", "proba_b"]]
    expected = {f"proba_{c}": proba[:, i] for i, c in enumerate(CLASSES)}
    for frame in (ordered, shuffled, ordered.assign(extra=1)):
        got = harness._columns(args(), frame)
        assert list(got) == list(expected) and all(np.array_equal(got[k], expected[k]) for k in expected)


def test_an_array_is_taken_in_the_sorted_order_of_the_classes() -> None:
    proba = np.array([[0.7, 0.2, 0.1]])
    assert harness._columns(args(), proba)["proba_c"].tolist() == [0.1]
    assert harness._columns(args(classes=["0", "1"]), np.array([[0.3, 0.7]]))["y"].tolist() == [0.7]
    two = pd.DataFrame({"proba_1": [0.9], "proba_0": [0.1]})
    assert harness._columns(args(classes=["0", "1"]), two)["y"].tolist() == [0.9]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            pd.DataFrame({"a": [0.1], "b": [0.2], "c": [0.7]}),
            r"columns \['a', 'b', 'c'\]; expected a DataFrame with the columns proba_a, proba_b, proba_c",
        ),
        (pd.DataFrame({"proba_a": [0.5], "proba_b": [0.5]}), r"columns \['proba_a', 'proba_b'\]"),
        (
            np.ones((1, 4)),
            r"an array of shape \(1, 4\); expected .* or an array with 3 columns in the order of the classes \(a, b, c\)",
        ),
    ],
)
def test_other_shapes_or_names_say_what_was_expected(result: object, message: str) -> None:
    with pytest.raises(harness.OutputError, match=message):
        harness._columns(args(), result)


def test_labels_from_a_dataframe_use_its_target_or_only_column() -> None:
    assert harness._columns(args("label"), pd.DataFrame({"y": [1, 2], "z": [0, 0]}))["y"].tolist() == [1, 2]
    assert harness._columns(args("label"), pd.DataFrame({"guess": [3]}))["y"].tolist() == [3]
    with pytest.raises(harness.OutputError, match="expected one column"):
        harness._columns(args("label"), pd.DataFrame({"p": [1], "q": [2]}))


def test_the_runner_reads_the_harness_exit_code_and_message() -> None:
    assert (execution.INVALID_OUTPUT_EXIT, execution.MESSAGE_PREFIX) == (
        harness.INVALID_OUTPUT,
        harness.MESSAGE_PREFIX,
    )
