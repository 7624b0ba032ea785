"""Bundles from other platforms: each importer detects its format and writes a riality bundle for it
with a report of what could not be honoured; `load_any` loads whichever bundle it is given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from challenges.bundle import MANIFEST, Bundle, BundleError, Problem, load_bundle
from challenges.importers import codabench, evalai, huggingface
from challenges.importers.common import Unpack
from challenges.importers.report import Imported, Refused

MARKERS = (
    MANIFEST,
    huggingface.CONF,
    codabench.COMPETITION,
    evalai.CONFIG,
)  # what says a folder is a bundle's top
FORMATS = (
    "challenge.yaml (riality), competition.yaml (Codabench, CodaLab), challenge_config.yaml (EvalAI) "
    "or conf.json and solution.csv (Hugging Face competitions)"
)


def bundle_root(folder: Path) -> Path:
    """Where the bundle's top is: the folder itself, or the one folder the organiser zipped."""
    if any((folder / marker).is_file() for marker in MARKERS):
        return folder
    children = [c for c in folder.iterdir() if not c.name.startswith((".", "__MACOSX"))]
    if len(children) == 1 and children[0].is_dir() and any((children[0] / m).is_file() for m in MARKERS):
        return children[0]
    return folder


def _translate(root: Path, scratch: Path, unpack: Unpack) -> Imported | None:
    if codabench.detect(root):
        return codabench.translate(root, scratch, unpack)
    if evalai.detect(root):
        return evalai.translate(root, scratch, unpack)
    if huggingface.detect(root):
        return huggingface.translate(root, scratch)
    return None


def load_any(folder: Path, scratch: Path, unpack: Unpack) -> Bundle:
    """A validated bundle from `folder`, riality's or translated from another platform's (into
    `scratch`, which must not exist yet); BundleError listing every problem otherwise. `unpack`
    opens the zips a foreign bundle holds (its programs, its data), with the caller's archive checks."""
    root = bundle_root(folder)
    if (root / MANIFEST).is_file():
        return load_bundle(root)
    try:
        imported = _translate(root, scratch, unpack)
    except Refused as exc:
        raise BundleError(root, [Problem(exc.path, exc.message)]) from None
    if imported is None:
        raise BundleError(root, [Problem(MANIFEST, f"no bundle found; expected {FORMATS}")])
    bundle = load_bundle(imported.root)
    return dataclasses.replace(
        bundle, report=tuple(imported.report(bundle.spec.primary_metric.higher_is_better))
    )
