"""Loading and validating a challenge bundle folder before anything is imported.

`load_bundle` reads everything into memory and checks it all; it either returns a complete
`Bundle` or raises `BundleError` listing every problem with its path. Importing happens only
from a `Bundle`, so a broken bundle can never be half-imported.
"""

from __future__ import annotations

import ast
import io
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from challenges.folders import FolderError, pack_folder
from challenges.spec import (
    KIND_BY_SUFFIX,
    ONE_PHASE,
    ChallengeSpec,
    Kind,
    check_requirement,
    described,
    file_format,
    program_kind,
)
from scoring.errors import PredictionFileError
from scoring.metrics import Output
from scoring.truth import GroundTruth, LabelsFileError, Scores
from scoring.validate import FileFormat, read_predictions

MANIFEST = "challenge.yaml"
REQUIREMENTS = "requirements.txt"  # the challenge's environment, if it has its own
MAX_FILE_BYTES = 512 * 1024 * 1024


class FileRole(StrEnum):
    TRAIN = "train"
    TEST_FEATURES = "test_features"
    TEST_LABELS = "test_labels"
    SAMPLE_SUBMISSION = "sample_submission"
    SCORER = "scorer"  # the organiser's scorer.py: runs in its own container, never served
    STARTER_KIT = "starter_kit"  # served as starter.py, .ipynb or .zip
    # Folders, each stored as one zip (challenges.folders): a scoring program's challenge.
    INPUTS = "inputs"  # public: what teams answer
    REFERENCE = "reference"  # hidden: the answers the program compares with
    PROGRAM = "program"  # hidden: the scoring program itself
    INGESTION = "ingestion"  # hidden: the ingestion program, which runs a team's code
    INPUT_DATA = "input_data"  # hidden: the inputs the ingestion program gives the team's code


# The name each file is served under; labels are never served.
DOWNLOAD_NAMES = {
    FileRole.TRAIN: "train.csv",
    FileRole.TEST_FEATURES: "test.csv",
    FileRole.SAMPLE_SUBMISSION: "sample_submission.csv",
    FileRole.TEST_LABELS: "labels.csv",
    FileRole.SCORER: "scorer.py",
    FileRole.STARTER_KIT: "starter.py",
    FileRole.INPUTS: "inputs.zip",
    FileRole.REFERENCE: "reference.zip",
    FileRole.PROGRAM: "program.zip",
    FileRole.INGESTION: "ingestion.zip",
    FileRole.INPUT_DATA: "input_data.zip",
}
FOLDER_ROLES = frozenset(
    {FileRole.INPUTS, FileRole.REFERENCE, FileRole.PROGRAM, FileRole.INGESTION, FileRole.INPUT_DATA}
)
STARTER_SUFFIXES = (".py", ".ipynb", ".zip")
PUBLIC_ROLES = frozenset(
    {
        FileRole.TRAIN,
        FileRole.TEST_FEATURES,
        FileRole.SAMPLE_SUBMISSION,
        FileRole.STARTER_KIT,
        FileRole.INPUTS,
    }
)
BASELINES = "baselines"  # a folder of the bundle: reference submissions, each named by its file
BASELINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")
MAX_BASELINES = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a bundle: where (a field of challenge.yaml such as `limits.per_day`, or
    `challenge.yaml` itself) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class BundleError(Exception):
    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.root = root
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"challenge bundle {root} is invalid ({len(problems)} problem(s)):\n{listing}")


@dataclass(frozen=True, slots=True)
class BundleFile:
    role: FileRole
    name: str
    data: bytes
    phase: str = ONE_PHASE  # each phase has its own files (a phase's own data, or the challenge's)

    @property
    def public(self) -> bool:
        return self.role in PUBLIC_ROLES


@dataclass(frozen=True, slots=True)
class Baseline:
    """A reference submission of the bundle, scored like one; on both boards, never ranked. A prediction
    file is scored as the bundle loads; a model or code baseline runs in a worker's sandbox (scores: None
    until then), as a team's would."""

    name: str
    filename: str
    data: bytes
    kind: Kind
    file_format: FileFormat
    scores: Scores | None
    phase: str = ONE_PHASE  # scored on that phase's data


@dataclass(frozen=True, slots=True)
class Bundle:
    root: Path
    spec: ChallengeSpec
    files: tuple[BundleFile, ...]
    truth: GroundTruth | None  # the first phase's; None: a scoring program's, which has no labels file
    baselines: tuple[Baseline, ...] = ()
    # Imported from another platform (challenges.importers): what it could not honour, what it assumed.
    report: tuple[str, ...] = ()

    def file(self, role: FileRole, phase: str | None = None) -> BundleFile | None:
        """The file of `role` of a phase (None: the first phase's)."""
        phase = phase or self.spec.phase_keys[0]
        return next((f for f in self.files if f.role is role and f.phase == phase), None)


def validation_problems(error: ValidationError) -> list[Problem]:
    return [Problem(where, message) for where, message in described(error)]


def _read_manifest(root: Path) -> tuple[ChallengeSpec | None, dict[str, Any], list[Problem]]:
    """The validated spec (None if invalid), the raw mapping as read, and the problems found."""
    path = root / MANIFEST
    if not path.is_file():
        return None, {}, [Problem(MANIFEST, "not found at the top of the bundle")]
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, {}, [Problem(MANIFEST, f"not valid YAML: {exc}")]
    except RecursionError:  # lists or mappings nested thousands deep: no manifest is
        return None, {}, [Problem(MANIFEST, "nested too deeply to be a manifest")]
    if not isinstance(raw, dict):
        message = f"expected a mapping of fields (slug, title, metric, ...), got {type(raw).__name__}"
        return None, {}, [Problem(MANIFEST, message)]
    problems = _read_requirements(root, raw)
    try:
        return ChallengeSpec.model_validate(raw), raw, problems
    except ValidationError as exc:
        return None, raw, problems + validation_problems(exc)


def _read_requirements(root: Path, raw: dict[str, Any]) -> list[Problem]:
    """A bundle's `requirements.txt` becomes `runtime.packages`, each line checked where it stands."""
    path = root / REQUIREMENTS
    if not path.is_file():
        return []
    runtime = raw.get("runtime")
    if isinstance(runtime, dict) and runtime.get("packages"):
        return [Problem(REQUIREMENTS, "declare the environment once: runtime.packages or requirements.txt")]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return [Problem(REQUIREMENTS, "not UTF-8 text")]
    packages, problems = [], []
    for number, line in enumerate(lines, start=1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            packages.append(check_requirement(line))
        except ValueError as exc:
            problems.append(Problem(REQUIREMENTS, f"line {number}: {exc}"))
    raw["runtime"] = {**(runtime if isinstance(runtime, dict) else {}), "packages": packages}
    return problems


def _read_file(root: Path, field: str, relative: str, problems: list[Problem]) -> bytes | None:
    path = _locate(root, field, relative, problems)
    return None if path is None else path.read_bytes()


def _read_folder(root: Path, field: str, relative: str, problems: list[Problem]) -> bytes | None:
    """A folder the manifest names, packed as one zip (a scoring program's, its reference, its inputs)."""
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        problems.append(Problem(field, f"{relative!r} must be a path inside the bundle, without '..'"))
        return None
    path = (root / candidate).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_dir():
        problems.append(Problem(field, f"folder {relative!r} not found in the bundle"))
        return None
    try:
        return pack_folder(path, max_bytes=MAX_FILE_BYTES)
    except FolderError as exc:
        problems.append(Problem(field, f"{relative!r}: {exc}"))
        return None


def _locate(root: Path, field: str, relative: str, problems: list[Problem]) -> Path | None:
    """The file a manifest field names, if it is a regular file inside the bundle and not too large."""

    def refuse(message: str) -> None:
        problems.append(Problem(field, message))

    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        refuse(f"{relative!r} must be a path inside the bundle, without '..'")
        return None
    path = (root / candidate).resolve()
    if not path.is_relative_to(root.resolve()):
        refuse(f"{relative!r} leads outside the bundle")
        return None
    if not path.is_file():
        refuse(f"file {relative!r} not found in the bundle")
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        refuse(f"{relative!r} is larger than {MAX_FILE_BYTES:,} bytes")
        return None
    return path


def _check_paths(root: Path, raw: dict[str, Any], problems: list[Problem]) -> None:
    """With an invalid manifest, still report the files it names that are missing or unsafe: the
    organiser sees every problem at once, not the file ones on the next try."""
    for role in FileRole:
        field = _field(role)
        relative: Any = raw
        for key in field.split("."):
            relative = relative.get(key) if isinstance(relative, dict) else None
        if isinstance(relative, str) and relative:
            if role in FOLDER_ROLES:
                _read_folder(root, field, relative, problems)
            else:
                _locate(root, field, relative, problems)


def _csv_column(data: bytes, field: str, column: str, problems: list[Problem]) -> pd.Series | None:
    """One column of a CSV, the whole file parsed (a broken row is found) but only that column kept:
    a test set of a million rows and many features is checked in the memory of its ids."""
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0).columns
        if column not in header:
            return None
        return pd.read_csv(io.BytesIO(data), usecols=[column], dtype=str, keep_default_na=False)[column]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        problems.append(Problem(f"data.{field}", f"not a readable CSV: {exc}"))
        return None


def _header(data: bytes) -> list[str]:
    try:
        return list(pd.read_csv(io.BytesIO(data), nrows=0).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        return []  # _csv_column says why


def _check_features(data: bytes, spec: ChallengeSpec, truth: GroundTruth, problems: list[Problem]) -> None:
    before = len(problems)
    ids = _csv_column(data, "test_features", spec.id_column, problems)
    if ids is None:
        if len(problems) == before:
            problems.append(Problem("data.test_features", f"no {spec.id_column!r} column (the id_column)"))
        return
    if spec.target_column in _header(data):
        leak = f"holds the target column {spec.target_column!r}; it would leak the labels"
        problems.append(Problem("data.test_features", leak))
    index = pd.Index(ids.str.strip())
    if not index.is_unique or len(index) != len(truth.ids) or not index.isin(truth.ids).all():
        exact = "its ids must be exactly the ids of data.test_labels, each once"
        problems.append(Problem("data.test_features", exact))


def _check_train(data: bytes, spec: ChallengeSpec, problems: list[Problem]) -> None:
    before = len(problems)
    if _csv_column(data, "train", spec.target_column, problems) is None and len(problems) == before:
        problems.append(Problem("data.train", f"no {spec.target_column!r} column (the target_column)"))


def _check_scorer(source: bytes, problems: list[Problem]) -> None:
    """Parse (never run) the organiser's scorer: it must be Python with a top-level score(labels, predictions)."""
    try:
        tree = ast.parse(source.decode("utf-8"), filename="scorer.py")
    except (SyntaxError, UnicodeDecodeError) as exc:
        problems.append(Problem("scorer", f"not valid Python: {exc}"))
        return
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    score = functions.get("score")
    if score is None or len(score.args.args) != 2:
        expected = "expected a top-level function score(labels, predictions) returning a dict of metrics"
        problems.append(Problem("scorer", expected))


def _sample_submission(spec: ChallengeSpec, truth: GroundTruth) -> bytes:
    """A constant, label-free baseline that shows the expected format."""
    output = spec.primary_metric.needs
    frame = pd.DataFrame({spec.id_column: truth.ids})
    if output is Output.LABEL:
        frame[spec.target_column] = truth.classes[0]
    elif output is Output.PROBABILITY and len(truth.classes) > 2:
        for c in truth.classes:
            frame[f"proba_{c}"] = round(1 / len(truth.classes), 6)
    elif output is Output.PROBABILITY:
        frame[spec.target_column] = 0.5
    else:
        frame[spec.target_column] = 0.0
    return frame.to_csv(index=False).encode()


def load_bundle(root: Path | str) -> Bundle:
    root = Path(root)
    spec, manifest, problems = _read_manifest(root)
    if spec is None:
        _check_paths(root, manifest, problems)
        raise BundleError(root, problems)
    if not spec.phases:
        return _load_phase(root, spec, problems)
    # Each phase is loaded as the challenge it runs (its own data where it says so), and checked whole.
    # A prediction-file baseline answers one phase's test set: it is scored in the phases it fits.
    loaded: list[Bundle] = []
    misfits: dict[str, list[str]] = {}
    for phase in spec.phases:
        unfit: list[Problem] = []
        try:
            loaded.append(_load_phase(root, spec.phase_spec(phase.key), [], unfit))
        except BundleError as exc:
            problems += [Problem(f"phases.{phase.key}: {p.path}", p.message) for p in exc.problems]
        for misfit in unfit:
            misfits.setdefault(misfit.path, []).append(f"{phase.key}: {misfit.message}")
    for path, reasons in misfits.items():
        if len(reasons) == len(spec.phases):
            problems.append(Problem(path, "fits no phase's test set (" + "; ".join(reasons) + ")"))
    if problems:
        raise BundleError(root, problems)
    return Bundle(
        root=root,
        spec=spec,
        files=tuple(
            replace(f, phase=phase.key)
            for phase, one in zip(spec.phases, loaded, strict=True)
            for f in one.files
        ),
        truth=loaded[0].truth,
        baselines=tuple(
            replace(b, phase=phase.key)
            for phase, one in zip(spec.phases, loaded, strict=True)
            for b in one.baselines
        ),
    )


def _load_phase(
    root: Path, spec: ChallengeSpec, problems: list[Problem], misfits: list[Problem] | None = None
) -> Bundle:
    """The bundle of a challenge of one phase (the whole challenge, or one phase as it runs).
    `misfits`: where prediction-file baselines this phase would refuse go (else they are problems)."""
    raw: dict[FileRole, bytes] = {}
    for role in FileRole:
        field, relative = _source(spec, role)
        if relative is not None:
            if role in FOLDER_ROLES:
                data = _read_folder(root, field, relative, problems)
            else:
                data = _read_file(root, field, relative, problems)
            if data is not None:
                raw[role] = data
    if spec.program is not None:
        return _program_bundle(root, spec, raw, problems)
    if FileRole.SCORER in raw:
        _check_scorer(raw[FileRole.SCORER], problems)
    truth = None
    if FileRole.TEST_LABELS in raw:
        try:
            truth = spec.read_truth(raw[FileRole.TEST_LABELS])
        except LabelsFileError as exc:
            problems.append(Problem("data.test_labels", f"{exc}"))
    if truth is not None:
        if FileRole.TEST_FEATURES in raw:
            _check_features(raw[FileRole.TEST_FEATURES], spec, truth, problems)
        if FileRole.TRAIN in raw:
            _check_train(raw[FileRole.TRAIN], spec, problems)
        if FileRole.SAMPLE_SUBMISSION not in raw and spec.data.sample_submission is None:
            raw[FileRole.SAMPLE_SUBMISSION] = _sample_submission(spec, truth)
        if FileRole.SAMPLE_SUBMISSION in raw:
            try:
                read_predictions(raw[FileRole.SAMPLE_SUBMISSION], spec.expectation(truth), FileFormat.CSV)
            except PredictionFileError as exc:
                refused = f"would be refused as a submission: {exc}"
                problems.append(Problem("data.sample_submission", refused))
    baselines = _baselines(root, spec, truth, problems, misfits) if truth is not None else ()
    if FileRole.STARTER_KIT in raw and Path(spec.data.starter_kit or "").suffix not in STARTER_SUFFIXES:
        problems.append(Problem("data.starter_kit", f"expected a {', '.join(STARTER_SUFFIXES)} file"))
    if problems or truth is None:
        raise BundleError(root, problems)
    files = tuple(
        BundleFile(role=role, name=_download_name(spec, role), data=data) for role, data in raw.items()
    )
    return Bundle(root=root, spec=spec, files=files, truth=truth, baselines=baselines)


_FIELDS = {
    FileRole.SCORER: "scorer",
    FileRole.PROGRAM: "program.folder",
    FileRole.INGESTION: "program.ingestion.folder",
}


def _field(role: FileRole) -> str:
    """The manifest field that names the file (or folder) of `role`."""
    return _FIELDS.get(role, f"data.{role.value}")


def _source(spec: ChallengeSpec, role: FileRole) -> tuple[str, str | None]:
    """The manifest field that names the file (or folder) of `role`, and what it names."""
    found: Any = spec
    for key in _field(role).split("."):
        found = getattr(found, key, None) if found is not None else None
    return _field(role), found


def _program_bundle(
    root: Path, spec: ChallengeSpec, raw: dict[FileRole, bytes], problems: list[Problem]
) -> Bundle:
    """A challenge scored by its program: no labels to check here (the program reads the reference);
    its baselines are run by a worker like a team's submission."""
    if FileRole.STARTER_KIT in raw and Path(spec.data.starter_kit or "").suffix not in STARTER_SUFFIXES:
        problems.append(Problem("data.starter_kit", f"expected a {', '.join(STARTER_SUFFIXES)} file"))
    baselines = _baselines(root, spec, None, problems)
    if problems:
        raise BundleError(root, problems)
    files = tuple(
        BundleFile(role=role, name=_download_name(spec, role), data=data) for role, data in raw.items()
    )
    return Bundle(root=root, spec=spec, files=files, truth=None, baselines=baselines)


def _download_name(spec: ChallengeSpec, role: FileRole) -> str:
    if role is FileRole.STARTER_KIT:
        return "starter" + Path(spec.data.starter_kit or ".py").suffix
    return DOWNLOAD_NAMES[role]


def _baselines(
    root: Path,
    spec: ChallengeSpec,
    truth: GroundTruth | None,
    problems: list[Problem],
    misfits: list[Problem] | None = None,
) -> tuple[Baseline, ...]:
    """The bundle's `baselines/` folder: each prediction file validated like a submission and scored."""
    folder = root / BASELINES
    if not folder.is_dir():
        return ()
    found = []
    paths = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if spec.scorer is not None and paths:
        problems.append(
            Problem(BASELINES, "baselines are scored by the built-in metrics; this challenge has a scorer")
        )
        return ()
    if len(paths) > MAX_BASELINES:
        problems.append(Problem(BASELINES, f"{len(paths)} files; at most {MAX_BASELINES} baselines"))
        return ()
    for path in paths:
        where = f"{BASELINES}/{path.name}"
        kind = (
            program_kind(spec.kinds) if spec.program is not None else KIND_BY_SUFFIX.get(path.suffix.lower())
        )
        if kind is None:
            expected = "a prediction file (.csv or .parquet), a model (.joblib, .pkl, .skops or .onnx) or code (.zip)"
            problems.append(Problem(where, expected))
            continue
        found_format = file_format(kind, path.suffix.lower())
        assert found_format is not None
        if not BASELINE_NAME.match(path.stem):
            problems.append(
                Problem(
                    where,
                    "its name (the file's, without extension) must be 1-40 letters, digits, spaces or _.-",
                )
            )
            continue
        located = _locate(root, where, f"{BASELINES}/{path.name}", problems)
        if located is None:
            continue
        data = located.read_bytes()
        if kind is not Kind.PREDICTIONS or truth is None:  # never opened here: only the sandbox runs it
            found.append(Baseline(path.stem, path.name, data, kind, found_format, None))
            continue
        try:
            values = read_predictions(data, spec.expectation(truth), found_format).values
        except PredictionFileError as exc:
            refusal = Problem(where, f"would be refused as a submission: {exc}")
            (misfits if misfits is not None else problems).append(refusal)
            continue
        found.append(Baseline(path.stem, path.name, data, kind, found_format, spec.score(truth, values)))
    return tuple(found)
