"""Runs an organiser's scorer.py inside the sandbox: score(labels, predictions) -> dict of metrics.

Called once for the public subset and once for the private one; writes /output/scores.json.
The participant's predictions were validated outside before they got here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys

import pandas as pd


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--id-column", required=True)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("scorer", "/scorer/scorer.py")
    if spec is None or spec.loader is None:
        print("scorer.py could not be loaded", file=sys.stderr)
        return 2
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scores = {}
    for subset in ("public", "private"):
        labels = pd.read_csv(f"/inputs/labels_{subset}.csv", dtype={args.id_column: str})
        predictions = pd.read_csv(f"/inputs/predictions_{subset}.csv", dtype={args.id_column: str})
        result = dict(module.score(labels, predictions))
        values = {}
        for name, value in result.items():
            number = float(value)
            values[str(name)] = number if math.isfinite(number) else None
        scores[subset] = values
    with open("/output/scores.json", "w") as handle:
        json.dump(scores, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
