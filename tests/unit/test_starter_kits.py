"""The segmentation example's starter kit, walked as a newcomer would: unzip inputs.zip beside it, run
it, upload what it writes. It once found nothing after that natural unzip (it wanted an inputs/ folder)
and wrote an empty submission.zip ("train Dice nan"), and with the right layout scored below the
challenge's own baseline."""

from __future__ import annotations

import csv
import importlib.util
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from challenges.folders import pack_folder
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "tumour-segmentation"


def _score_module() -> object:
    program = EXAMPLE / "program"
    sys.path.insert(0, str(program))
    try:
        spec = importlib.util.spec_from_file_location("riality_example_score", program / "score.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(program))


def public_dice(submission: bytes) -> float:
    """The mean Dice on the public scans, by the example's own scoring program's functions."""
    score = _score_module()
    with (EXAMPLE / "reference" / "split.csv").open() as handle:
        public = [row["id"] for row in csv.DictReader(handle) if row["subset"] == "public"]
    with zipfile.ZipFile(io.BytesIO(submission)) as archive:
        return float(
            np.mean(
                [
                    score.dice(  # type: ignore[attr-defined]
                        score.read_png((EXAMPLE / "reference" / "masks" / f"{i}.png").read_bytes()) > 0,  # type: ignore[attr-defined]
                        score.read_png(archive.read(f"{i}.png")) > 0,  # type: ignore[attr-defined]
                    )
                    for i in public
                ]
            )
        )


def _run(folder: Path) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(EXAMPLE / "starter" / "starter.zip") as archive:
        archive.extractall(folder)
    return subprocess.run(
        [sys.executable, "starter.py"], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )


def test_after_unzipping_the_inputs_beside_it_the_starter_beats_the_baseline(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(pack_folder(EXAMPLE / "inputs", max_bytes=2**26))) as inputs:
        inputs.extractall(tmp_path)  # `unzip inputs.zip`: train/ and test/ land here
    ran = _run(tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "wrote submission.zip (60 masks)" in ran.stdout
    submission = (tmp_path / "submission.zip").read_bytes()
    baseline = (EXAMPLE / "baselines" / "threshold at 150.zip").read_bytes()
    assert public_dice(submission) > public_dice(baseline) + 0.1


def test_without_the_inputs_the_starter_says_what_to_do_and_writes_nothing(tmp_path: Path) -> None:
    ran = _run(tmp_path)
    assert ran.returncode != 0 and "unzip the challenge's inputs.zip next to starter.py" in ran.stderr
    assert not (tmp_path / "submission.zip").exists()
