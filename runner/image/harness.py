"""The in-container harness: load the participant's model or code, predict on the test features, write CSV.

Runs inside the sandbox as an unprivileged user with no network; everything it loads is untrusted.
It only turns the submission into a predictions file; the runner validates and scores that file
outside the container, exactly like an uploaded one. Standard library + numpy/pandas, and the
model's own loader (joblib, skops or onnxruntime).
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


# Types a .skops file may hold beyond those skops trusts itself (scikit-learn's estimators, numpy and
# scipy data, builtins): the compiled trees of scikit-learn's own models. Nothing else is loaded.
SKOPS_TRUSTED = [
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
]


def _load_skops(path: str) -> object:
    from skops.io import get_untrusted_types, load

    refused = [name for name in get_untrusted_types(file=path) if name not in SKOPS_TRUSTED]
    if refused:
        raise SystemExit(
            f"this .skops file holds types riality does not load: {', '.join(refused[:5])}; expected "
            "scikit-learn estimators and their numpy/scipy data"
        )
    return load(path, trusted=SKOPS_TRUSTED)


class OnnxModel:
    """An ONNX graph run by onnxruntime, seen as an estimator. Its inputs are the feature matrix (one
    input) or one column each (inputs named as the columns); its first output is the prediction, its
    `probabilities` output (or second) the class probabilities: a map per row names the classes, a
    matrix is taken in the sorted order of the classes, as skl2onnx writes it."""

    def __init__(self, path: str) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.classes_: list[str] | None = None

    def _run(self, features: pd.DataFrame) -> dict[str, object]:
        inputs = self.session.get_inputs()
        if len(inputs) == 1:
            feed = {inputs[0].name: features.to_numpy(dtype=_onnx_dtype(inputs[0].type))}
        else:
            missing = [i.name for i in inputs if i.name not in features.columns]
            if missing:
                raise SystemExit(f"the ONNX model wants inputs {missing[:5]}, which are not feature columns")
            feed = {i.name: features[[i.name]].to_numpy(dtype=_onnx_dtype(i.type)) for i in inputs}
        names = [output.name for output in self.session.get_outputs()]
        return dict(zip(names, self.session.run(None, feed), strict=True))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(next(iter(self._run(features).values()))).reshape(-1)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        outputs = self._run(features)
        if "probabilities" in outputs:
            proba = outputs["probabilities"]
        elif len(outputs) == 2:
            proba = list(outputs.values())[1]
        else:
            raise SystemExit(f"the ONNX model has no probabilities output (its outputs: {list(outputs)})")
        if isinstance(proba, list):  # skl2onnx's ZipMap: one {class: probability} per row
            self.classes_ = [str(c) for c in proba[0]] if proba else []
            return np.array([[row[c] for c in proba[0]] for row in proba], dtype=float)
        return np.asarray(proba, dtype=float)


def _onnx_dtype(tensor_type: str) -> type:
    kinds = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}
    if tensor_type not in kinds:
        raise SystemExit(
            f"the ONNX model wants an input of type {tensor_type}; expected float, double or int64"
        )
    return kinds[tensor_type]


def _load_model(path: str, model_format: str) -> object:
    if model_format == "skops":
        return _load_skops(path)
    if model_format == "onnx":
        return OnnxModel(path)
    import joblib

    check_versions(path)  # before unpickling: a mismatch is named, not a crash
    return joblib.load(path)


def _model_predictions(args: argparse.Namespace, features: pd.DataFrame) -> np.ndarray:
    model = _load_model(args.submission, args.model_format)
    if args.output != "probability":
        return np.asarray(model.predict(features))  # type: ignore[attr-defined]
    proba = np.asarray(model.predict_proba(features), dtype=float)  # type: ignore[attr-defined]
    classes = args.classes.split(",")
    fitted = getattr(model, "classes_", None)
    fitted = classes if fitted is None else [str(c) for c in fitted]
    missing = [c for c in classes if c not in fitted]
    if missing:
        raise SystemExit(f"the model was fitted without the classes {missing}; expected classes {classes}")
    if proba.ndim != 2 or proba.shape[1] != len(fitted):
        raise SystemExit(
            f"the model's probabilities have shape {proba.shape}; expected {len(fitted)} columns"
        )
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
    parser.add_argument("--model-format", choices=["pickle", "skops", "onnx"], default="pickle")
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
