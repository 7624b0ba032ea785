"""Reading and validating a prediction file against the hidden test set's ids.

Every problem is reported with where it is (line or row, column) and what was expected; the
first few occurrences of each problem are named and the rest counted. Nothing here is slow on
large files: checks are vectorised and only the failing rows are formatted.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from scoring.errors import PredictionFileError
from scoring.exact import exact_csv
from scoring.metrics import Output

_SHOWN = 3  # occurrences named in a message before the rest are only counted
_CLIP = 40  # characters of a participant's value echoed in a message
ROW_MARGIN = 1000  # rows past the test ids' count read before a file is refused as too long
DECODED_FACTOR = 4  # a Parquet file may decode to at most this many times the upload limit
_NAN_WORDS = frozenset({"nan", "na", "n/a", "null", "none", "-nan"})


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    ZIP = "zip"  # a code submission, which the sandbox turns into CSV
    PICKLE = "pickle"  # a model submission (joblib or pickle), likewise
    SKOPS = "skops"  # a model in scikit-learn's secure format
    ONNX = "onnx"  # a model as an ONNX graph, run by onnxruntime
    FILE = "file"  # any single file: a scoring program reads it (a zip of files is ZIP)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a valid prediction file for one challenge looks like."""

    id_column: str
    ids: pd.Index  # the test set's ids, as text (object dtype), in the test set's order
    target_column: str
    output: Output
    classes: tuple[str, ...] = ()
    max_bytes: int = 50 * 1024 * 1024
    # The ids as an Arrow array, for the fast path (scoring.exact); built here unless the caller holds
    # one (the worker's cached GroundTruth does: building it costs about 1 ms per 10k ids).
    arrow_ids: Any = None

    def __post_init__(self) -> None:
        if self.arrow_ids is None:
            object.__setattr__(self, "arrow_ids", arrow_ids(self.ids))

    @property
    def max_rows(self) -> int:
        """Rows read at most: one per test id is expected; a margin keeps "unknown id" messages useful."""
        return len(self.ids) + ROW_MARGIN

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


def arrow_ids(ids: pd.Index) -> Any:
    """The test set's ids as an Arrow string array (what scoring.exact compares a file's ids with)."""
    import pyarrow as pa

    return pa.array(ids.to_numpy(dtype=object), type=pa.string())


def _where(position: int, file_format: FileFormat) -> str:
    # CSV users think in editor lines (header is line 1); Parquet has no lines, only rows.
    return f"line {position + 2}" if file_format is FileFormat.CSV else f"row {position + 1}"


def _problem(positions: Sequence[int], file_format: FileFormat, describe: str) -> str:
    shown = ", ".join(_where(int(p), file_format) for p in positions[:_SHOWN])
    more = len(positions) - _SHOWN
    tail = f" (and {more} more row{'s' if more > 1 else ''})" if more > 0 else ""
    return f"{shown}: {describe}{tail}"


def clip(value: object) -> str:
    """A participant's value for a message: quoted, escaped, and cut short (a field may be megabytes)."""
    text = str(value)
    if len(text) <= _CLIP:
        return repr(text)
    return f"{text[:_CLIP]!r}… ({len(text):,} characters)"


def _lookalikes(name: str) -> str:
    """Name the characters of a header that are not plain ASCII: a Cyrillic 'і' reads like 'i'."""
    odd = [ch for ch in dict.fromkeys(name) if not (ch.isascii() and ch.isprintable())]
    named = [f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}" for ch in odd[:_SHOWN]]
    return f"{clip(name)} contains {', '.join(named)}" if named else ""


def _line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 text without a byte-order mark: ASCII characters alternate with NUL bytes."""
    head = data[:256]
    if len(head) < 4:
        return False
    return any(zeros.count(0) >= 0.9 * len(zeros) for zeros in (head[1::2], head[0::2]))  # LE, BE


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        raise PredictionFileError(
            f"the file is UTF-16 text, not UTF-8 (byte 0x{data[0]:02x} at line 1 starts a UTF-16 file); "
            "save it as UTF-8 CSV"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PredictionFileError(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {_line_of(data, exc.start)} "
            f"(offset {exc.start}) cannot be decoded; save the file as UTF-8 CSV"
        ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        count = data.count(b"\x00")
        raise PredictionFileError(
            f"the file contains {count:,} NUL byte{'s' if count > 1 else ''} (the first at line "
            f"{_line_of(data, nul)}, offset {nul}): expected plain UTF-8 text; was it padded or saved as binary?"
        )
    text = text.lstrip("\ufeff")  # a second byte-order mark, left by tools that add one blindly
    if "\r" in text:  # Windows (CRLF) and old Mac (CR only) line endings alike
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _header(first_line: str, expected: Expectation) -> list[str]:
    try:
        return [h.strip() for h in next(csv.reader([first_line]), [])]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise PredictionFileError(
                f"line 1: a header field is longer than {csv.field_size_limit():,} characters; "
                f"expected a header line '{','.join(expected.columns)}'"
            ) from None
        raise PredictionFileError(f"line 1: the header is not valid CSV ({exc})") from None


def _first_lines(text: str, count: int) -> list[str]:
    """The first `count` lines, found without copying the rest of a text that may be megabytes."""
    lines: list[str] = []
    start = 0
    while len(lines) < count:
        end = text.find("\n", start)
        lines.append(text[start:] if end < 0 else text[start:end])
        if end < 0:
            break
        start = end + 1
    return lines


def _check_row_width(first: str, header: list[str]) -> None:
    """pandas reads a first data row with one field too many as an index column, shifting every
    column left and blaming the ids; say what is really wrong instead."""
    try:
        fields = next(csv.reader([first]), [])
    except csv.Error:
        return  # pandas reports it with its line
    if len(fields) > len(header):
        trailing = all(not f.strip() for f in fields[len(header) :])
        why = (
            "the row ends with a comma; remove the trailing commas"
            if trailing
            else "expected one field per column"
        )
        raise PredictionFileError(
            f"line 2: {len(fields)} fields but the header has {len(header)} ({', '.join(header)}); {why}"
        )


def _read_csv(data: bytes, expected: Expectation) -> pd.DataFrame:
    text = _decode(data)
    if not text or text.isspace():
        raise PredictionFileError(
            f"the file is empty: expected a header line '{','.join(expected.columns)}' "
            f"and {len(expected.ids)} rows"
        )
    lines = _first_lines(text, 2)
    header = _header(lines[0], expected)
    _check_header(header, expected)
    _check_row_width(lines[1] if len(lines) > 1 else "", header)
    # Ids and labels stay text; number columns are parsed by the C parser (the fast path). A number
    # column holding anything else comes back as text, and _numbers() then says which row is wrong.
    text_columns = [expected.id_column]
    if expected.output is Output.LABEL:
        text_columns.append(expected.target_column)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            names=header,
            header=0,
            dtype=dict.fromkeys(text_columns, object),
            keep_default_na=False,
            skipinitialspace=True,
            on_bad_lines="error",
            nrows=expected.max_rows + 1,  # never materialise a file far longer than the test set
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise PredictionFileError(f"the file is not valid CSV: {exc}".rstrip()) from None
    _check_rows(len(frame), expected)
    return frame


def _check_rows(rows: int, expected: Expectation) -> None:
    if rows > expected.max_rows:
        raise PredictionFileError(
            f"the file has more than {expected.max_rows:,} rows; the test set has {len(expected.ids):,} ids "
            "and one row per id is expected"
        )


def _read_parquet(data: bytes, expected: Expectation) -> pd.DataFrame:
    """Check the footer (columns, types, rows, decoded size) before decoding anything: a few kilobytes
    of Parquet can decode to gigabytes."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise PredictionFileError(f"the file is not a readable Parquet file: {clip(exc)}") from None
    _check_header(list(schema.names), expected)
    for name in expected.columns:
        kind = schema.field(name).type
        if pa.types.is_nested(kind) or (pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type)):
            raise PredictionFileError(
                f"column {name!r}: type {kind} holds lists or records; expected one value per row"
            )
    metadata = parquet.metadata
    _check_rows(metadata.num_rows, expected)
    wanted = {schema.get_field_index(name) for name in expected.columns}
    decoded = sum(
        metadata.row_group(g).column(c).total_uncompressed_size
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
        if c in wanted
    )
    limit = DECODED_FACTOR * expected.max_bytes
    if decoded > limit:
        raise PredictionFileError(
            f"the file decodes to {decoded:,} bytes; the limit is {limit:,} bytes "
            f"({DECODED_FACTOR} times the upload limit)"
        )
    try:
        table = parquet.read(columns=list(expected.columns))
        # Text through Arrow, not pandas: an integer column with one null stays "1", "2", … (pandas
        # would make every value a float, "1.0"), and the null itself becomes an empty cell.
        columns = {
            name: pc.cast(table.column(name), pa.string())
            .to_pandas()
            .fillna("" if name == expected.id_column else "nan")
            for name in expected.columns
        }
    except (pa.ArrowException, OSError) as exc:
        raise PredictionFileError(f"the file is not a readable Parquet file: {clip(exc)}") from None
    return pd.DataFrame(columns)


def _check_header(header: list[str], expected: Expectation) -> None:
    wanted = ", ".join(expected.columns)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise PredictionFileError(
                f"header: column {clip(name)} appears twice; expected columns: {wanted}"
            )
        seen.add(name)
    missing = [c for c in expected.columns if c not in seen]
    if missing:
        odd = "; ".join(filter(None, map(_lookalikes, header)))
        raise PredictionFileError(
            f"header: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; expected columns: {wanted} "
            f"(found: {', '.join(h if len(h) <= _CLIP else clip(h) for h in header)})"
            + (f"; {odd}" if odd else "")
        )
    extra = [c for c in header if c not in expected.columns]
    if extra:
        raise PredictionFileError(
            f"header: unexpected column{'s' if len(extra) > 1 else ''} "
            f"{', '.join(clip(c) for c in extra)}; expected only: {wanted}"
        )


def _check_ids(column: pd.Series, expected: Expectation, file_format: FileFormat) -> np.ndarray:
    """Check the id column; return, for each row, the position of its id in the test set."""
    name = expected.id_column
    if len(column) == len(expected.ids) and column.dtype == object:
        raw = column.to_numpy(dtype=object)
        if np.array_equal(raw, expected.ids.to_numpy(dtype=object)):
            # The common case: every test id once, in the test set's order (unique and non-empty
            # by the labels file's checks). Nothing to look up.
            return np.arange(len(raw))
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
                f"duplicate {name!r}: {clip(example)} is already on {_where(first, file_format)}",
            )
        )
    if len(unknown):
        example = ids[unknown[0]]
        raise PredictionFileError(
            _problem(unknown, file_format, f"unknown {name!r} {clip(example)}: not an id of the test set")
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
    text: pd.Series | None = None
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=float)  # the fast path: the C parser read numbers
    else:
        text = column.astype(str).str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    checks = [
        (
            np.isnan(values) if text is None else text.str.lower().isin(_NAN_WORDS).to_numpy(),
            "NaN is not allowed; expected a number",
        ),
        (np.isinf(values), "infinity is not allowed; expected a finite number"),
    ]
    if text is not None:
        checks.insert(0, ((text == "").to_numpy(), "empty value; expected a number"))
    for mask, what in checks:
        if mask.any():
            raise PredictionFileError(_problem(np.flatnonzero(mask), file_format, f"column {name!r}: {what}"))
    assert text is not None  # a number column only holds NaN or infinity, both reported above
    positions = np.flatnonzero(bad)
    raise PredictionFileError(
        _problem(positions, file_format, f"column {name!r}: {clip(text.iloc[positions[0]])} is not a number")
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
                f"column {name!r}: {clip(labels[unknown[0]])} is not a known class "
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
    if not data or data.isspace():
        raise PredictionFileError(
            f"the file is empty: expected a header line '{','.join(expected.columns)}' "
            f"and {len(expected.ids)} rows"
        )
    if file_format is FileFormat.CSV and (values := exact_csv(data, expected)) is not None:
        return Predictions(values=values)
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
