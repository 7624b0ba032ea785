"""The in-container harness: load the participant's model or code, predict on the test features, write CSV.

Runs inside the sandbox as an unprivileged user with no network; everything it loads is untrusted.
It only turns the submission into a predictions file; the runner validates and scores that file
outside the container, exactly like an uploaded one. Standard library + numpy/pandas/joblib only.
"""

from __future__ import annotations

import argparse
import bz2
import importlib.util
import lzma
import re
import sys
import traceback
import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

INVALID_OUTPUT = 3  # the exit code that says: predict() returned something of the wrong shape or names
VERSION_MISMATCH = 4  # the exit code that says: the model was saved with other library versions
MESSAGE_PREFIX = "riality: "  # the line of the log that says what was expected


class OutputError(Exception):
    """What predict() returned cannot be read as predictions; the message says what was expected."""


def _one_column(args: argparse.Namespace, frame: pd.DataFrame) -> np.ndarray:
    if args.target_column in frame.columns:
        return frame[args.target_column].to_numpy()
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].to_numpy()
    raise OutputError(
        f"predict returned a DataFrame with columns {[str(c) for c in frame.columns][:10]}; "
        f"expected one column (or a column named {args.target_column!r})"
    )


def _columns(args: argparse.Namespace, result: object) -> dict[str, np.ndarray]:
    """The predictions file's columns. Probabilities in a DataFrame are matched to the classes by
    their `proba_<class>` names; in an array, its columns are the classes in sorted order."""
    classes = args.classes.split(",") if args.classes else []
    if isinstance(result, pd.Series):
        result = result.to_numpy()
    if args.output != "probability":
        values = _one_column(args, result) if isinstance(result, pd.DataFrame) else np.asarray(result)
        return {args.target_column: values.reshape(-1)}
    named = [f"proba_{c}" for c in classes]
    expected = (
        f"expected a DataFrame with the columns {', '.join(named)}, or an array with {len(classes)} "
        f"columns in the order of the classes ({', '.join(classes)})"
    )
    if isinstance(result, pd.DataFrame):
        found = [str(c) for c in result.columns]
        if named and set(named) <= set(found):
            frame = result.rename(columns=str)
            by_class = {c: frame[f"proba_{c}"].to_numpy(dtype=float) for c in classes}
            if len(classes) == 2:
                return {args.target_column: by_class[classes[-1]]}
            return {f"proba_{c}": by_class[c] for c in classes}
        if result.shape[1] != 1:
            raise OutputError(f"predict returned a DataFrame with columns {found[:10]}; {expected}")
        result = result.iloc[:, 0].to_numpy()
    values = np.asarray(result, dtype=float)
    if values.ndim == 1:
        return {args.target_column: values}
    if values.ndim != 2 or values.shape[1] != len(classes):
        raise OutputError(f"predict returned an array of shape {values.shape}; {expected}")
    if len(classes) == 2:
        return {args.target_column: values[:, -1]}
    return {f"proba_{c}": values[:, i] for i, c in enumerate(classes)}


class VersionMismatch(Exception):
    """The model was saved with library versions this environment does not have; the message says which."""


_VERSION = re.compile(rb"(\d+\.\d+(?:\.\d+)?(?:(?:\.|rc|\.dev|\.post)\d+)?)")
_MAX_SCAN = 1 << 30  # decompressed bytes read when looking for versions (the container's memory bounds it)


def _pickle_bytes(path: str) -> bytes:
    """The pickle stream of a joblib/pickle file, decompressed if joblib compressed it."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b" or data[:1] == b"\x78":
        return zlib.decompressobj(wbits=47).decompress(data, _MAX_SCAN)
    if data[:3] == b"BZh":
        return bz2.BZ2Decompressor().decompress(data, _MAX_SCAN)
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMADecompressor().decompress(data, _MAX_SCAN)
    return data


def saved_versions(data: bytes) -> tuple[set[str], bool]:
    """Read without unpickling: the scikit-learn versions the estimators recorded (`_sklearn_version`),
    and whether numpy 2 made it (its pickles name `numpy._core`, which numpy 1 lacks)."""
    sklearn = set()
    start = 0
    while (found := data.find(b"_sklearn_version", start)) >= 0:
        start = found + 16
        match = _VERSION.search(data[start : start + 24])
        if match:
            sklearn.add(match.group(1).decode())
    return sklearn, b"numpy._core" in data


def check_versions(path: str) -> None:
    from importlib.metadata import version

    sklearn, numpy2 = saved_versions(_pickle_bytes(path))
    here = {"scikit-learn": version("scikit-learn"), "numpy": version("numpy")}
    other = sorted(v for v in sklearn if v != here["scikit-learn"])
    numpy_differs = numpy2 and int(here["numpy"].split(".")[0]) < 2
    if not other and not numpy_differs:
        return
    saved = [f"scikit-learn {', '.join(other)}"] if other else []
    saved += ["numpy 2"] if numpy2 else []
    raise VersionMismatch(
        f"this model was saved with {' / '.join(saved)}; this challenge runs scikit-learn "
        f"{here['scikit-learn']} / numpy {here['numpy']}: pip install -r requirements.txt from the "
        "challenge page and save it again"
    )


def _model_predictions(args: argparse.Namespace, features: pd.DataFrame) -> np.ndarray:
    import joblib

    check_versions(args.submission)  # before unpickling: a mismatch is named, not a crash
    model = joblib.load(args.submission)
    if args.output != "probability":
        return np.asarray(model.predict(features))
    proba = np.asarray(model.predict_proba(features), dtype=float)
    classes = args.classes.split(",")
    fitted = [str(c) for c in getattr(model, "classes_", classes)]
    missing = [c for c in classes if c not in fitted]
    if missing:
        raise SystemExit(f"the model was fitted without the classes {missing}; expected classes {classes}")
    return proba[:, [fitted.index(c) for c in classes]]


def _code_predictions(
    args: argparse.Namespace, features: pd.DataFrame
) -> np.ndarray | pd.DataFrame | pd.Series:
    sys.path.insert(0, args.submission)
    spec = importlib.util.spec_from_file_location("predict", f"{args.submission}/predict.py")
    if spec is None or spec.loader is None:
        raise SystemExit("predict.py could not be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "predict"):
        raise SystemExit("predict.py has no function predict(features)")
    result = module.predict(features)
    # A DataFrame keeps its column names: probabilities are matched to the classes by them.
    return result if isinstance(result, pd.DataFrame | pd.Series) else np.asarray(result)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["model", "code"], required=True)
    parser.add_argument("--submission", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--output-file", required=True)
    parser.add_argument("--id-column", required=True)
    parser.add_argument("--target-column", required=True)
    parser.add_argument("--output", choices=["label", "probability", "value"], required=True)
    parser.add_argument("--classes", default="")
    args = parser.parse_args()

    table = pd.read_csv(args.features, dtype={args.id_column: str})
    ids = table[args.id_column]
    features = table.drop(columns=[args.id_column])
    predict: Callable[[argparse.Namespace, pd.DataFrame], object]
    predict = _model_predictions if args.kind == "model" else _code_predictions
    try:
        values = predict(args, features)
    except VersionMismatch as exc:
        print(f"{MESSAGE_PREFIX}{exc}", file=sys.stderr)
        return VERSION_MISMATCH
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        return 1
    if len(values) != len(ids):  # type: ignore[arg-type]
        print(f"predict returned {len(values)} rows for {len(ids)} test rows", file=sys.stderr)
        return 2
    try:
        columns = _columns(args, values)
    except (OutputError, ValueError, TypeError) as exc:
        print(f"{MESSAGE_PREFIX}{exc}", file=sys.stderr)
        return INVALID_OUTPUT
    frame = pd.DataFrame({args.id_column: ids, **columns})
    frame.to_csv(args.output_file, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
