"""A corpus of malformed prediction files, each with the message it must produce; and valid ones that must pass."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from scoring.errors import PredictionFileError
from scoring.metrics import Output
from scoring.validate import Expectation, FileFormat, read_predictions

IDS = pd.Index(["a1", "a2", "a3", "a4", "a5"])
PROBA = Expectation(id_column="id", ids=IDS, target_column="p", output=Output.PROBABILITY, classes=("0", "1"))
LABELS = Expectation(id_column="id", ids=IDS, target_column="y", output=Output.LABEL, classes=("0", "1", "2"))
VALUES = Expectation(id_column="id", ids=IDS, target_column="v", output=Output.VALUE)
MULTI = Expectation(
    id_column="id", ids=IDS, target_column="y", output=Output.PROBABILITY, classes=("a", "b", "c")
)
SMALL = Expectation(
    id_column="id", ids=IDS, target_column="p", output=Output.PROBABILITY, classes=("0", "1"), max_bytes=30
)


def rows(header: str, *lines: str) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


GOOD_P = ["a1,0.1", "a2,0.2", "a3,0.3", "a4,0.4", "a5,0.5"]
VALUES_INT = Expectation(
    id_column="id", ids=pd.Index(["1", "2", "3", "4", "5"]), target_column="v", output=Output.VALUE
)


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def parquet_bomb(rows: int) -> bytes:
    """One dictionary value repeated `rows` times, zstd: kilobytes on disk, gigabytes once decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array(["a1"] * rows).dictionary_encode(), "p": pa.array([0.5] * rows)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


CORPUS = [
    ("empty", PROBA, b"", FileFormat.CSV, r"the file is empty: expected a header line 'id,p' and 5 rows"),
    ("whitespace only", PROBA, b"  \n\n ", FileFormat.CSV, r"the file is empty"),
    ("header only", PROBA, b"id,p\n", FileFormat.CSV, r"has a header but no rows; expected 5 rows"),
    (
        "latin-1 byte",
        PROBA,
        b"id,p\na1,0.1\nca\xe9,0.2\n",
        FileFormat.CSV,
        r"not UTF-8 text: byte 0xe9 at line 3",
    ),
    (
        "utf-16",
        PROBA,
        "id,p\na1,0.1\n".encode("utf-16"),
        FileFormat.CSV,
        r"the file is UTF-16 text, not UTF-8 \(byte 0xff at line 1.*save it as UTF-8",
    ),
    (
        "utf-16 without BOM",
        PROBA,
        "id,p\na1,0.1\n".encode("utf-16-le"),
        FileFormat.CSV,
        r"the file is UTF-16 text, not UTF-8.*save it as UTF-8",
    ),
    (
        "utf-16 big-endian without BOM",
        PROBA,
        "id,p\na1,0.1\n".encode("utf-16-be"),
        FileFormat.CSV,
        r"the file is UTF-16 text",
    ),
    (
        "NUL padding",
        PROBA,
        rows("id,p", *GOOD_P) + b"\x00" * 4000,
        FileFormat.CSV,
        r"^the file contains 4,000 NUL bytes \(the first at line 7, offset 40\): expected plain UTF-8 text",
    ),
    (
        "cyrillic i in id",
        PROBA,
        rows("\u0456d,p", *GOOD_P),
        FileFormat.CSV,
        r"missing column 'id'.*'\u0456d' contains U\+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
    ),
    (
        "trailing comma on data rows only",
        PROBA,
        rows("id,p", *(f"{r}," for r in GOOD_P)),
        FileFormat.CSV,
        r"line 2: 3 fields but the header has 2 \(id, p\); the row ends with a comma",
    ),
    (
        "extra value on every data row",
        PROBA,
        rows("id,p", *(f"{r},9" for r in GOOD_P)),
        FileFormat.CSV,
        r"line 2: 3 fields but the header has 2 \(id, p\); expected one field per column",
    ),
    (
        "first header field over the csv field limit",
        PROBA,
        ("x" * 200_000 + ",p\na1,0.1\n").encode(),
        FileFormat.CSV,
        r"^line 1: a header field is longer than 131,072 characters; expected a header line 'id,p'$",
    ),
    (
        "huge unknown id is clipped",
        PROBA,
        rows("id,p", *GOOD_P, "z" * 100_000 + ",0.1"),
        FileFormat.CSV,
        r"^line 7: unknown 'id' 'z{40}'… \(100,000 characters\): not an id of the test set$",
    ),
    (
        "far more rows than test ids",
        PROBA,
        rows("id,p", *GOOD_P, *(f"x{i},0.1" for i in range(2000))),
        FileFormat.CSV,
        r"the file has more than 1,005 rows; the test set has 5 ids and one row per id is expected",
    ),
    ("png bytes", PROBA, b"\x89PNG\r\n\x1a\n\x00\x00", FileFormat.CSV, r"not UTF-8 text: byte 0x89"),
    (
        "missing target",
        PROBA,
        rows("id", "a1"),
        FileFormat.CSV,
        r"header: missing column 'p'; expected columns: id, p \(found: id\)",
    ),
    ("missing id", PROBA, rows("p", "0.1"), FileFormat.CSV, r"header: missing column 'id'"),
    ("id in capitals", PROBA, rows("ID,p", *GOOD_P), FileFormat.CSV, r"missing column 'id'.*found: ID, p"),
    (
        "extra column",
        PROBA,
        rows("id,p,extra", "a1,0.1,x"),
        FileFormat.CSV,
        r"header: unexpected column 'extra'; expected only: id, p",
    ),
    (
        "duplicate header",
        PROBA,
        rows("id,p,p", "a1,0.1,0.2"),
        FileFormat.CSV,
        r"header: column 'p' appears twice",
    ),
    ("semicolons", PROBA, rows("id;p", "a1;0.1"), FileFormat.CSV, r"missing columns 'id', 'p'.*found: id;p"),
    (
        "ragged row",
        PROBA,
        rows("id,p", "a1,0.1", "a2,0.2,0.3"),
        FileFormat.CSV,
        r"not valid CSV: .*Expected 2 fields in line 3, saw 3",
    ),
    ("empty id", PROBA, rows("id,p", "a1,0.1", ",0.2"), FileFormat.CSV, r"line 3: empty 'id'"),
    (
        "duplicate id",
        PROBA,
        rows("id,p", "a1,0.1", "a2,0.2", "a1,0.3"),
        FileFormat.CSV,
        r"line 4: duplicate 'id': 'a1' is already on line 2",
    ),
    (
        "unknown id",
        PROBA,
        rows("id,p", *GOOD_P, "zzz,0.1"),
        FileFormat.CSV,
        r"line 7: unknown 'id' 'zzz': not an id of the test set",
    ),
    (
        "missing ids",
        PROBA,
        rows("id,p", *GOOD_P[:3]),
        FileFormat.CSV,
        r"2 of the 5 test ids have no prediction, e.g. 'a4', 'a5'",
    ),
    (
        "not a number",
        PROBA,
        rows("id,p", "a1,abc", *GOOD_P[1:]),
        FileFormat.CSV,
        r"line 2: column 'p': 'abc' is not a number",
    ),
    (
        "NaN",
        PROBA,
        rows("id,p", "a1,NaN", *GOOD_P[1:]),
        FileFormat.CSV,
        r"line 2: column 'p': NaN is not allowed",
    ),
    (
        "nan lower",
        PROBA,
        rows("id,p", *GOOD_P[:4], "a5,nan"),
        FileFormat.CSV,
        r"line 6: column 'p': NaN is not allowed",
    ),
    ("NA word", PROBA, rows("id,p", "a1,NA", *GOOD_P[1:]), FileFormat.CSV, r"NaN is not allowed"),
    (
        "empty value",
        PROBA,
        rows("id,p", "a1,", *GOOD_P[1:]),
        FileFormat.CSV,
        r"line 2: column 'p': empty value; expected a number",
    ),
    (
        "inf",
        VALUES,
        rows("id,v", "a1,inf", "a2,1", "a3,1", "a4,1", "a5,1"),
        FileFormat.CSV,
        r"line 2: column 'v': infinity is not allowed",
    ),
    (
        "minus inf",
        VALUES,
        rows("id,v", "a1,1", "a2,-inf", "a3,1", "a4,1", "a5,1"),
        FileFormat.CSV,
        r"line 3: column 'v': infinity",
    ),
    (
        "probability above 1",
        PROBA,
        rows("id,p", "a1,1.5", *GOOD_P[1:]),
        FileFormat.CSV,
        r"line 2: column 'p': 1.5 is not a probability \(expected 0 to 1\)",
    ),
    (
        "probability below 0",
        PROBA,
        rows("id,p", *GOOD_P[:2], "a3,-0.1", *GOOD_P[3:]),
        FileFormat.CSV,
        r"line 4: column 'p': -0.1 is not a probability",
    ),
    (
        "unknown class",
        LABELS,
        rows("id,y", "a1,0", "a2,7", "a3,1", "a4,2", "a5,0"),
        FileFormat.CSV,
        r"line 3: column 'y': '7' is not a known class \(expected one of: 0, 1, 2\)",
    ),
    (
        "class as float",
        LABELS,
        rows("id,y", "a1,1.0", "a2,0", "a3,1", "a4,2", "a5,0"),
        FileFormat.CSV,
        r"line 2: column 'y': '1.0' is not a known class",
    ),
    (
        "empty class",
        LABELS,
        rows("id,y", "a1,0", "a2,", "a3,1", "a4,2", "a5,0"),
        FileFormat.CSV,
        r"line 3: column 'y': empty class label",
    ),
    (
        "regression text",
        VALUES,
        rows("id,v", "a1,12min", "a2,1", "a3,1", "a4,1", "a5,1"),
        FileFormat.CSV,
        r"line 2: column 'v': '12min' is not a number",
    ),
    (
        "over size limit",
        SMALL,
        rows("id,p", *GOOD_P),
        FileFormat.CSV,
        r"the file is 40 bytes; the limit is 30 bytes",
    ),
    (
        "multiclass column missing",
        MULTI,
        rows("id,proba_a,proba_b", "a1,0.1,0.9"),
        FileFormat.CSV,
        r"missing column 'proba_c'",
    ),
    (
        "many bad rows",
        PROBA,
        rows("id,p", "a1,x", "a2,x", "a3,x", "a4,x", "a5,x"),
        FileFormat.CSV,
        r"line 2, line 3, line 4: column 'p': 'x' is not a number \(and 2 more rows\)",
    ),
    (
        "parquet garbage",
        PROBA,
        b"PAR1 definitely not parquet",
        FileFormat.PARQUET,
        r"not a readable Parquet file",
    ),
    (
        "parquet missing column",
        PROBA,
        parquet(pd.DataFrame({"id": ["a1"]})),
        FileFormat.PARQUET,
        r"header: missing column 'p'",
    ),
    (
        "parquet NaN",
        PROBA,
        parquet(pd.DataFrame({"id": list(IDS), "p": [0.1, None, 0.3, 0.4, 0.5]})),
        FileFormat.PARQUET,
        r"row 2: column 'p': NaN is not allowed",
    ),
    (
        "parquet null in an integer id column",
        VALUES_INT,
        parquet(pd.DataFrame({"id": pd.array([1, 2, None, 4, 5], dtype="Int64"), "v": [1.0] * 5})),
        FileFormat.PARQUET,
        r"^row 3: empty 'id'$",
    ),
    (
        "parquet bomb: many more rows than test ids",
        PROBA,
        parquet_bomb(rows=200_000),
        FileFormat.PARQUET,
        r"the file has more than 1,005 rows; the test set has 5 ids",
    ),
    (
        "parquet list column",
        PROBA,
        parquet(pd.DataFrame({"id": list(IDS), "p": [[0.1]] * 5})),
        FileFormat.PARQUET,
        r"column 'p': type list<.*> holds lists or records; expected one value per row",
    ),
]


@pytest.mark.parametrize(
    ("expected", "data", "file_format", "message"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_malformed_file_is_refused_with_its_message(
    expected: Expectation, data: bytes, file_format: FileFormat, message: str
) -> None:
    with pytest.raises(PredictionFileError, match=message):
        read_predictions(data, expected, file_format)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


def test_valid_file_in_any_order_is_aligned_to_the_test_set() -> None:
    data = rows("id,p", "a3,0.3", "a1,0.1", "a5,0.5", "a2,0.2", "a4,0.4")
    values = read_predictions(data, PROBA, FileFormat.CSV).values
    np.testing.assert_allclose(values[:, 1], [0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(values[:, 0], [0.9, 0.8, 0.7, 0.6, 0.5])


def test_cr_only_line_endings_and_a_double_bom_are_accepted() -> None:
    for data in ("\r".join(["id,p", *GOOD_P]) + "\r", "\ufeff\ufeffid,p\n" + "\n".join(GOOD_P)):
        values = read_predictions(data.encode(), PROBA, FileFormat.CSV).values
        np.testing.assert_allclose(values[:, 1], [0.1, 0.2, 0.3, 0.4, 0.5])


def test_parquet_integer_ids_match_text_ids() -> None:
    data = parquet(pd.DataFrame({"id": [5, 4, 3, 2, 1], "v": [5.0, 4.0, 3.0, 2.0, 1.0]}))
    np.testing.assert_allclose(read_predictions(data, VALUES_INT, FileFormat.PARQUET).values, [1, 2, 3, 4, 5])


def test_bom_crlf_and_spaces_are_accepted() -> None:
    data = "\ufeffid, p\r\n" + "".join(f"{r.replace(',', ', ')}\r\n" for r in GOOD_P)
    values = read_predictions(data.encode(), PROBA, FileFormat.CSV).values
    np.testing.assert_allclose(values[:, 1], [0.1, 0.2, 0.3, 0.4, 0.5])


def test_labels_and_multiclass_probabilities() -> None:
    labels = read_predictions(
        rows("id,y", "a1,0", "a2,1", "a3,2", "a4,0", "a5,1"), LABELS, FileFormat.CSV
    ).values
    assert list(labels) == [0, 1, 2, 0, 1]  # codes: positions in the expected classes
    data = rows("id,proba_a,proba_b,proba_c", *(f"{i},0.2,0.3,0.5" for i in IDS))
    assert read_predictions(data, MULTI, FileFormat.CSV).values.shape == (5, 3)


def test_valid_parquet() -> None:
    data = parquet(pd.DataFrame({"id": list(IDS), "p": [0.1, 0.2, 0.3, 0.4, 0.5]}))
    np.testing.assert_allclose(
        read_predictions(data, PROBA, FileFormat.PARQUET).values[:, 1], [0.1, 0.2, 0.3, 0.4, 0.5]
    )
