"""Reading and validating a prediction file against the hidden test set's ids.

Every problem is reported with where it is (line or row, column) and what was expected; the
first few occurrences of each problem are named and the rest counted. Nothing here is slow on
large files: checks are vectorised and only the failing rows are formatted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from scoring.errors import PredictionFileError
from scoring.metrics import Output

_SHOWN = 3  # occurrences named in a message before the rest are only counted
_NAN_WORDS = frozenset({"nan", "na", "n/a", "null", "none", "-nan"})


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    ZIP = "zip"  # a code submission, which the sandbox turns into CSV
    PICKLE = "pickle"  # a model submission, likewise


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a valid prediction file for one challenge looks like."""

    id_column: str
    ids: pd.Index  # the test set's ids, as text (object dtype), in the test set's order
    target_column: str
    output: Output
    classes: tuple[str, ...] = ()
    max_bytes: int = 50 * 1024 * 1024

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.id_column, *self.prediction_columns)

    @property
    def prediction_columns(self) -> tuple[str, ...]:
        if self.output is Output.PROBABILITY and len(self.classes) > 2:
            return tuple(f"proba_{c}" for c in self.classes)
        return (self.target_column,)


@dataclass(frozen=True, slots=True)
class Predictions:
    """Validated predictions in the test set's order: class codes (n,), probabilities (n, k) or values (n,).

    A class code is the label's position in Expectation.classes.
    """

    values: np.ndarray


def _where(position: int, file_format: FileFormat) -> str:
    # CSV users think in editor lines (header is line 1); Parquet has no lines, only rows.
    return f"line {position + 2}" if file_format is FileFormat.CSV else f"row {position + 1}"


def _problem(positions: Sequence[int], file_format: FileFormat, describe: str) -> str:
    shown = ", ".join(_where(int(p), file_format) for p in positions[:_SHOWN])
    more = len(positions) - _SHOWN
    tail = f" (and {more} more row{'s' if more > 1 else ''})" if more > 0 else ""
    return f"{shown}: {describe}{tail}"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PredictionFileError(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} "
            f"(offset {exc.start}) cannot be decoded; save the file as UTF-8 CSV"
        ) from None


def _read_csv(data: bytes, expected: Expectation) -> pd.DataFrame:
    text = _decode(data)
    if not text.strip():
        raise PredictionFileError(
            f"the file is empty: expected a header line '{','.join(expected.columns)}' "
            f"and {len(expected.ids)} rows"
        )
    header = [h.strip() for h in next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])]
    _check_header(header, expected)
    # Ids and labels stay text; number columns are parsed by the C parser (the fast path). A number
    # column holding anything else comes back as text, and _numbers() then says which row is wrong.
    text_columns = [expected.id_column]
    if expected.output is Output.LABEL:
        text_columns.append(expected.target_column)
    try:
        return pd.read_csv(
            io.StringIO(text),
            names=header,
            header=0,
            dtype=dict.fromkeys(text_columns, object),
            keep_default_na=False,
            skipinitialspace=True,
            on_bad_lines="error",
        )
    except pd.errors.ParserError as exc:
        raise PredictionFileError(f"the file is not valid CSV: {exc}".rstrip()) from None


def _read_parquet(data: bytes, expected: Expectation) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise PredictionFileError(f"the file is not a readable Parquet file: {exc}") from None
    _check_header(list(table.column_names), expected)
    frame = table.to_pandas()
    return pd.DataFrame({c: frame[c].astype(str).where(frame[c].notna(), "nan") for c in frame.columns})


def _check_header(header: list[str], expected: Expectation) -> None:
    wanted = ", ".join(expected.columns)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise PredictionFileError(f"header: column {name!r} appears twice; expected columns: {wanted}")
        seen.add(name)
    missing = [c for c in expected.columns if c not in seen]
    if missing:
        raise PredictionFileError(
            f"header: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; expected columns: {wanted} (found: {', '.join(header)})"
        )
    extra = [c for c in header if c not in expected.columns]
    if extra:
        raise PredictionFileError(
            f"header: unexpected column{'s' if len(extra) > 1 else ''} "
            f"{', '.join(repr(c) for c in extra)}; expected only: {wanted}"
        )


def _check_ids(column: pd.Series, expected: Expectation, file_format: FileFormat) -> np.ndarray:
    """Check the id column; return, for each row, the position of its id in the test set."""
    name = expected.id_column
    ids = column.astype(str).str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(ids == "")
    if len(empty):
        raise PredictionFileError(_problem(empty, file_format, f"empty {name!r}"))
    # The test set's Index keeps its hash table, so this lookup is the fast path for large files.
    positions = expected.ids.get_indexer(ids)
    unknown = np.flatnonzero(positions < 0)
    # Duplicates among known ids, found on the integer positions (far cheaper than on strings).
    duplicated = pd.Series(positions).duplicated(keep="first").to_numpy() & (positions >= 0)
    if duplicated.any():
        rows = np.flatnonzero(duplicated)
        example = ids[rows[0]]
        first = int(np.flatnonzero(ids == example)[0])
        raise PredictionFileError(
            _problem(
                rows,
                file_format,
                f"duplicate {name!r}: {example!r} is already on {_where(first, file_format)}",
            )
        )
    if len(unknown):
        example = ids[unknown[0]]
        raise PredictionFileError(
            _problem(unknown, file_format, f"unknown {name!r} {example!r}: not an id of the test set")
        )
    if len(positions) < len(expected.ids):
        seen = np.zeros(len(expected.ids), dtype=bool)
        seen[positions] = True
        missing = expected.ids[~seen]
        shown = ", ".join(repr(m) for m in missing[:_SHOWN])
        raise PredictionFileError(
            f"{len(missing)} of the {len(expected.ids)} test ids have no prediction, e.g. {shown}; "
            "expected one row per test id"
        )
    return positions


def _numbers(column: pd.Series, name: str, file_format: FileFormat) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        infinite = np.flatnonzero(~np.isfinite(values))
        if len(infinite) == 0:
            return values
        raise PredictionFileError(
            _problem(
                infinite, file_format, f"column {name!r}: infinity is not allowed; expected a finite number"
            )
        )
    text = column.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    empty = (text == "").to_numpy()
    nan_word = text.str.lower().isin(_NAN_WORDS).to_numpy()
    infinite = np.isinf(values)
    for mask, what in (
        (empty, "empty value; expected a number"),
        (nan_word, "NaN is not allowed; expected a number"),
        (infinite, "infinity is not allowed; expected a finite number"),
    ):
        if mask.any():
            raise PredictionFileError(_problem(np.flatnonzero(mask), file_format, f"column {name!r}: {what}"))
    positions = np.flatnonzero(bad)
    raise PredictionFileError(
        _problem(positions, file_format, f"column {name!r}: {text.iloc[positions[0]]!r} is not a number")
    )


def _probabilities(frame: pd.DataFrame, expected: Expectation, file_format: FileFormat) -> np.ndarray:
    columns = []
    for name in expected.prediction_columns:
        values = _numbers(frame[name], name, file_format)
        outside = np.flatnonzero((values < 0) | (values > 1))
        if len(outside):
            raise PredictionFileError(
                _problem(
                    outside,
                    file_format,
                    f"column {name!r}: {values[outside[0]]:g} is not a probability (expected 0 to 1)",
                )
            )
        columns.append(values)
    if len(columns) == 1:
        return np.column_stack([1.0 - columns[0], columns[0]])
    return np.column_stack(columns)


def _labels(column: pd.Series, expected: Expectation, file_format: FileFormat) -> np.ndarray:
    """Class labels as codes: the position of each label in expected.classes."""
    name = expected.target_column
    labels = column.astype(str).str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(labels == "")
    if len(empty):
        raise PredictionFileError(_problem(empty, file_format, f"column {name!r}: empty class label"))
    codes = pd.Index(expected.classes, dtype=object).get_indexer(labels)
    unknown = np.flatnonzero(codes < 0)
    if len(unknown):
        raise PredictionFileError(
            _problem(
                unknown,
                file_format,
                f"column {name!r}: {labels[unknown[0]]!r} is not a known class "
                f"(expected one of: {', '.join(expected.classes)})",
            )
        )
    return codes


def read_predictions(data: bytes, expected: Expectation, file_format: FileFormat) -> Predictions:
    """Parse and validate a prediction file; raise PredictionFileError with the first problem found."""
    if len(data) > expected.max_bytes:
        raise PredictionFileError(
            f"the file is {len(data):,} bytes; the limit is {expected.max_bytes:,} bytes"
        )
    if not data.strip():
        raise PredictionFileError(
            f"the file is empty: expected a header line '{','.join(expected.columns)}' "
            f"and {len(expected.ids)} rows"
        )
    reader = _read_csv if file_format is FileFormat.CSV else _read_parquet
    frame = reader(data, expected)
    if frame.empty:
        raise PredictionFileError(
            f"the file has a header but no rows; expected {len(expected.ids)} rows, one per test id"
        )
    positions = _check_ids(frame[expected.id_column], expected, file_format)
    if expected.output is Output.LABEL:
        values = _labels(frame[expected.target_column], expected, file_format)
    elif expected.output is Output.PROBABILITY:
        values = _probabilities(frame, expected, file_format)
    else:
        values = _numbers(frame[expected.target_column], expected.target_column, file_format)
    order = np.empty(len(positions), dtype=np.intp)
    order[positions] = np.arange(len(positions))
    return Predictions(values=values[order])
