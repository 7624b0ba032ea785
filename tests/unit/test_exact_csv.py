"""The fast path for a prediction file that needs no correction (scoring.exact): it gives exactly what
the full validation gives, and it steps aside for every file the full validation must explain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.exact import exact_csv
from scoring.metrics import Output
from scoring.validate import Expectation, FileFormat, read_predictions

IDS = pd.Index([f"r{i:03d}" for i in range(40)], dtype=object)
RNG = np.random.default_rng(3)
PROBA = Expectation(id_column="id", ids=IDS, target_column="p", output=Output.PROBABILITY, classes=("0", "1"))
MULTI = Expectation(
    id_column="id", ids=IDS, target_column="y", output=Output.PROBABILITY, classes=("a", "b", "c")
)
LABELS = Expectation(id_column="id", ids=IDS, target_column="y", output=Output.LABEL, classes=("0", "1", "2"))
VALUES = Expectation(id_column="id", ids=IDS, target_column="v", output=Output.VALUE)


def frame_for(expected: Expectation) -> pd.DataFrame:
    columns: dict[str, object] = {"id": list(IDS)}
    if expected.output is Output.LABEL:
        columns[expected.target_column] = RNG.choice(list(expected.classes), len(IDS))
    elif expected.output is Output.VALUE:
        columns[expected.target_column] = RNG.normal(0, 100, len(IDS)).round(5)
    else:
        for name in expected.prediction_columns:
            columns[name] = RNG.random(len(IDS)).round(6)
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    "expected", [PROBA, MULTI, LABELS, VALUES], ids=["proba", "multi", "labels", "values"]
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_file_in_the_test_sets_order_takes_the_fast_path_and_reads_as_the_same_rows_shuffled(
    expected: Expectation, newline: str
) -> None:
    frame = frame_for(expected)
    in_order = frame.to_csv(index=False, lineterminator=newline).encode()
    shuffled = frame.sample(frac=1, random_state=1).to_csv(index=False, lineterminator=newline).encode()

    fast = exact_csv(in_order, expected)
    assert fast is not None
    assert exact_csv(shuffled, expected) is None  # not in order: the full validation reads it
    full = read_predictions(shuffled, expected, FileFormat.CSV).values
    np.testing.assert_array_equal(fast, full)
    np.testing.assert_array_equal(read_predictions(in_order, expected, FileFormat.CSV).values, full)


GOOD = PROBA


def good_lines() -> list[str]:
    return [f"{i},0.{n}" for n, i in enumerate(IDS, start=10)]


def csv_of(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def with_line(index: int, line: str) -> list[str]:
    lines = good_lines()
    lines[index] = line
    return lines


STEPS_ASIDE = [
    ("header with a space", csv_of("id, p", good_lines())),
    (
        "header in another order",
        csv_of("p,id", [",".join(reversed(line.split(","))) for line in good_lines()]),
    ),
    ("byte-order mark", b"\xef\xbb\xbf" + csv_of("id,p", good_lines())),
    ("an extra column", csv_of("id,p,x", [f"{line},1" for line in good_lines()])),
    ("a row with one field more", csv_of("id,p", with_line(3, "r003,0.5,1"))),
    ("a missing row", csv_of("id,p", good_lines()[:-1])),
    ("a row too many", csv_of("id,p", [*good_lines(), "r999,0.5"])),
    ("an id with a leading space", csv_of("id,p", with_line(0, " r000,0.5"))),
    ("an empty value", csv_of("id,p", with_line(5, "r005,"))),
    ("NA", csv_of("id,p", with_line(5, "r005,NA"))),
    ("nan", csv_of("id,p", with_line(5, "r005,nan"))),
    ("inf", csv_of("id,p", with_line(5, "r005,inf"))),
    ("a probability above 1", csv_of("id,p", with_line(5, "r005,1.5"))),
    ("a negative probability", csv_of("id,p", with_line(5, "r005,-0.1"))),
    ("text for a number", csv_of("id,p", with_line(5, "r005,high"))),
    ("invalid UTF-8 in an id", csv_of("id,p", good_lines()).replace(b"r007", b"r\xff07")),
    ("a NUL byte", csv_of("id,p", good_lines()).replace(b"r007", b"r\x0007")),
    ("old Mac line endings", csv_of("id,p", good_lines()).replace(b"\n", b"\r")),
    ("a duplicated id", csv_of("id,p", with_line(1, "r000,0.5"))),
]


@pytest.mark.parametrize(("name", "data"), STEPS_ASIDE, ids=[name for name, _ in STEPS_ASIDE])
def test_the_fast_path_steps_aside_for_a_file_that_is_not_exactly_as_expected(name: str, data: bytes) -> None:
    assert exact_csv(data, GOOD) is None


def test_an_unknown_class_label_steps_aside() -> None:
    lines = [f"{i},{n % 3}" for n, i in enumerate(IDS)]
    assert exact_csv(csv_of("id,y", lines), LABELS) is not None
    lines[4] = "r004,7"
    assert exact_csv(csv_of("id,y", lines), LABELS) is None
