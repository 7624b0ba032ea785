"""The in-container harness: load the participant's model or code, predict on the test features, write CSV.

Runs inside the sandbox as an unprivileged user with no network; everything it loads is untrusted.
It only turns the submission into a predictions file; the runner validates and scores that file
outside the container, exactly like an uploaded one. Standard library + numpy/pandas/joblib only.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback

import numpy as np
import pandas as pd


def _columns(args: argparse.Namespace, values: np.ndarray) -> dict[str, np.ndarray]:
    classes = args.classes.split(",") if args.classes else []
    if args.output != "probability":
        return {args.target_column: np.asarray(values).reshape(-1)}
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return {args.target_column: values}
    if len(classes) == 2:
        return {args.target_column: values[:, -1]}
    return {f"proba_{c}": values[:, i] for i, c in enumerate(classes)}


def _model_predictions(args: argparse.Namespace, features: pd.DataFrame) -> np.ndarray:
    import joblib

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


def _code_predictions(args: argparse.Namespace, features: pd.DataFrame) -> np.ndarray:
    sys.path.insert(0, args.submission)
    spec = importlib.util.spec_from_file_location("predict", f"{args.submission}/predict.py")
    if spec is None or spec.loader is None:
        raise SystemExit("predict.py could not be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "predict"):
        raise SystemExit("predict.py has no function predict(features)")
    result = module.predict(features)
    if isinstance(result, pd.DataFrame | pd.Series):
        result = result.to_numpy()
    return np.asarray(result)


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
    predict = _model_predictions if args.kind == "model" else _code_predictions
    try:
        values = predict(args, features)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        return 1
    if len(values) != len(ids):
        print(f"predict returned {len(values)} rows for {len(ids)} test rows", file=sys.stderr)
        return 2
    frame = pd.DataFrame({args.id_column: ids, **_columns(args, values)})
    frame.to_csv(args.output_file, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
