"""The example's scoring program: the Dice and IoU of a team's tumour masks against the hidden ones.

Run by riality in a sandbox as `python3 $program/score.py $input $output` (Codabench's layout):
$input/res holds the team's submission (the zip unpacked: one <image id>.png mask per test image,
anywhere in it), $input/ref the hidden masks and split.csv; it writes $output/scores.json, a
detailed results page, or invalid.txt when the submission cannot be scored.
"""

from __future__ import annotations

import csv
import html
import json
import sys
from pathlib import Path

import numpy as np
from png import PNGError, read_png


def dice(truth: np.ndarray, predicted: np.ndarray) -> float:
    both = truth.sum() + predicted.sum()
    return 1.0 if both == 0 else 2.0 * float((truth & predicted).sum()) / float(both)


def iou(truth: np.ndarray, predicted: np.ndarray) -> float:
    union = (truth | predicted).sum()
    return 1.0 if union == 0 else float((truth & predicted).sum()) / float(union)


def refuse(output: Path, message: str) -> None:
    (output / "invalid.txt").write_text(message)
    sys.exit(0)


def main(inputs: Path, output: Path) -> None:
    ref, res = inputs / "ref", inputs / "res"
    with (ref / "split.csv").open() as handle:
        subsets = {row["id"]: row["subset"] for row in csv.DictReader(handle)}
    found = {path.stem: path for path in res.rglob("*.png")}
    missing = sorted(set(subsets) - set(found))
    if missing:
        refuse(output, f"no mask for {len(missing)} test image(s), e.g. {', '.join(missing[:3])}.png")
    per_image: dict[str, tuple[float, float]] = {}
    for image_id in sorted(subsets):
        truth = read_png((ref / "masks" / f"{image_id}.png").read_bytes()) > 0
        try:
            predicted = read_png(found[image_id].read_bytes()) > 0
        except PNGError as exc:
            refuse(output, f"{found[image_id].relative_to(res)}: {exc}")
        if predicted.shape != truth.shape:
            refuse(
                output,
                f"{image_id}.png is {predicted.shape[1]}x{predicted.shape[0]}; expected "
                f"{truth.shape[1]}x{truth.shape[0]}",
            )
        per_image[image_id] = (dice(truth, predicted), iou(truth, predicted))
    scores = {
        subset: {
            "dice": float(np.mean([per_image[i][0] for i in per_image if subsets[i] == subset])),
            "iou": float(np.mean([per_image[i][1] for i in per_image if subsets[i] == subset])),
        }
        for subset in ("public", "private")
    }
    (output / "scores.json").write_text(json.dumps(scores))
    rows = "".join(
        f"<tr><td>{html.escape(i)}</td><td>{d:.3f}</td><td>{u:.3f}</td></tr>"
        for i, (d, u) in per_image.items()
        if subsets[i] == "public"  # the private images' scores would tell the private board
    )
    (output / "detailed_results.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Per-image scores</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style>"
        "<h1>Public images</h1><table><tr><th>image</th><th>Dice</th><th>IoU</th></tr>" + rows + "</table>"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
