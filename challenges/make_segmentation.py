"""The segmentation example: synthetic scans with bright round "tumours", scored by its own program.

Run by `python -m challenges.make_examples`; the same files on every run (a fixed seed, fixed zip
times). The PNG codec and the scoring program live in the bundle's `program/` folder (the organiser's
code); this generator reuses that codec to write the images.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import yaml

SLUG = "tumour-segmentation"
SIZE = 32
TRAIN, TEST = 40, 60
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

STARTER = '''"""Starter kit for {slug}: smooth each scan, learn a brightness threshold on the training scans,
write the test masks.

Unzip the challenge's inputs.zip here (it holds train/ and test/; an inputs/ folder around them is
found too), then: python starter.py
It writes submission.zip (one <image id>.png mask per test image): upload it on the challenge page.
"""

import sys
import zipfile
from pathlib import Path

import numpy as np
from png import read_png, write_png


def find_inputs():
    """The folder holding train/ and test/: here, inputs/, or one folder down."""
    for folder in (Path("."), Path("inputs"), *sorted(p for p in Path(".").iterdir() if p.is_dir())):
        if (folder / "train" / "images").is_dir() and (folder / "test" / "images").is_dir():
            return folder
    sys.exit("no train/images and test/images here: unzip the challenge's inputs.zip next to starter.py")


def smooth(scan):
    """The mean of each pixel's 3x3 neighbourhood: the noise shrinks, the tumours stay bright."""
    padded = np.pad(scan.astype(float), 1, mode="edge")
    height, width = scan.shape
    return sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)) / 9


def dice(truth, predicted):
    both = truth.sum() + predicted.sum()
    return 1.0 if both == 0 else 2.0 * (truth & predicted).sum() / both


inputs = find_inputs()
train = sorted((inputs / "train" / "images").glob("*.png"))
tests = sorted((inputs / "test" / "images").glob("*.png"))
if not train or not tests:
    sys.exit(f"{{inputs}}: expected PNG scans in train/images and test/images")
scans = {{p.stem: smooth(read_png(p.read_bytes())) for p in train}}
masks = {{i: read_png((inputs / "train" / "masks" / f"{{i}}.png").read_bytes()) > 0 for i in scans}}
best = max(range(60, 250, 2), key=lambda t: np.mean([dice(masks[i], scans[i] > t) for i in scans]))
print(f"threshold {{best}}: train Dice {{np.mean([dice(masks[i], scans[i] > best) for i in scans]):.3f}}")
with zipfile.ZipFile("submission.zip", "w") as archive:
    for path in tests:
        mask = (smooth(read_png(path.read_bytes())) > best).astype(np.uint8) * 255
        archive.writestr(f"{{path.stem}}.png", write_png(mask))
print(f"wrote submission.zip ({{len(tests)}} masks)")
'''


def load_codec(program: Path) -> ModuleType:
    """The PNG codec the example's program ships (the generator, the tests and the benchmark use it)."""
    spec = importlib.util.spec_from_file_location("riality_example_png", program / "png.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scan(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A noisy scan with 0-2 bright disks, and the disks' mask."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    for _ in range(rng.integers(0, 3)):
        cy, cx, r = rng.integers(6, SIZE - 6), rng.integers(6, SIZE - 6), rng.integers(2, 6)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    scan = rng.normal(80, 28, (SIZE, SIZE)) + 90 * mask
    return np.clip(scan, 0, 255).astype(np.uint8), mask


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def write_segmentation(root: Path) -> Path:
    folder = root / SLUG
    program = folder / "program"
    png = load_codec(program)
    rng = np.random.default_rng(11)
    split_rows, test_scans = [], {}
    for index in range(TRAIN + TEST):
        scan, mask = _scan(rng)
        image_id = f"scan-{index:03d}"
        part = "train" if index < TRAIN else "test"
        (folder / "inputs" / part / "images").mkdir(parents=True, exist_ok=True)
        (folder / "inputs" / part / "images" / f"{image_id}.png").write_bytes(png.write_png(scan))
        where = folder / ("inputs/train/masks" if part == "train" else "reference/masks")
        where.mkdir(parents=True, exist_ok=True)
        (where / f"{image_id}.png").write_bytes(png.write_png(mask.astype(np.uint8) * 255))
        if part == "test":
            test_scans[image_id] = scan
            split_rows.append((image_id, "public" if index % 3 == 0 else "private"))
    with (folder / "reference" / "split.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("id", "subset"))
        writer.writerows(split_rows)
    (folder / "starter").mkdir(exist_ok=True)
    starter = {"starter.py": STARTER.format(slug=SLUG).encode(), "png.py": (program / "png.py").read_bytes()}
    (folder / "starter" / "starter.zip").write_bytes(_zip(starter))
    (folder / "baselines").mkdir(exist_ok=True)
    fixed = {f"{i}.png": png.write_png((s > 150).astype(np.uint8) * 255) for i, s in test_scans.items()}
    (folder / "baselines" / "threshold at 150.zip").write_bytes(_zip(fixed))
    manifest = {
        "slug": SLUG,
        "title": "Tumour segmentation in synthetic scans",
        "description": (
            "Outline every tumour (the bright round regions) in 32×32 grayscale scans. Download the inputs: "
            "`train/` has scans with their masks, `test/` the scans to segment.\n\nSubmit a **zip of PNG "
            "masks**, one `<image id>.png` per test scan (8-bit grayscale, the scan's size, non-zero = "
            "tumour). The challenge's own scoring program computes the mean Dice (and IoU) per scan; a "
            "third of the scans make the public board, the rest the private one."
        ),
        "kinds": ["files"],
        "program": {
            "folder": "program",
            "command": "python3 $program/score.py $input $output",
            "columns": [
                {"key": "dice", "label": "Dice", "higher_is_better": True, "precision": 4},
                {"key": "iou", "label": "IoU", "higher_is_better": True, "precision": 4},
            ],
        },
        "metric": "dice",
        "schedule": {"opens": "2026-01-01T00:00:00Z", "closes": "2030-12-31T18:00:00Z"},
        "limits": {"per_day": 20, "total": 200, "team_size": 4, "final_selections": 2, "time_s": 60},
        "data": {"inputs": "inputs", "reference": "reference", "starter_kit": "starter/starter.zip"},
    }
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return folder
