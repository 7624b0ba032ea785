"""The typed manifest of a challenge bundle (`challenge.yaml`)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import numpy as np
from packaging.requirements import InvalidRequirement, Requirement
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scoring.errors import UnknownMetricError
from scoring.groups import DEFAULT_MIN_SIZE
from scoring.ladder import ROW_LOSSES
from scoring.metrics import REGISTRY, Metric, Output, Task, get_metric
from scoring.ranking import BoardRules
from scoring.truth import GroundTruth, Scores, expectation_for, load_truth, score
from scoring.validate import Expectation, FileFormat

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"


def _scored_by_scorer(*_: object) -> float:
    raise RuntimeError("this metric comes from the challenge's scorer.py, which runs in the sandbox")


class Kind(StrEnum):
    PREDICTIONS = "predictions"
    MODEL = "model"
    CODE = "code"
    FILES = "files"  # any file, or a zip of files: read only by the challenge's scoring program


# What a file's name says it is: a submission's (without a `kind` field) or a bundle's baseline.
PREDICTION_FORMATS = {".csv": FileFormat.CSV, ".parquet": FileFormat.PARQUET, ".pq": FileFormat.PARQUET}
MODEL_FORMATS = {
    ".joblib": FileFormat.PICKLE,
    ".pkl": FileFormat.PICKLE,
    ".pickle": FileFormat.PICKLE,
    ".skops": FileFormat.SKOPS,
    ".onnx": FileFormat.ONNX,
}
KIND_BY_SUFFIX = {
    **dict.fromkeys(PREDICTION_FORMATS, Kind.PREDICTIONS),
    **dict.fromkeys(MODEL_FORMATS, Kind.MODEL),
    ".zip": Kind.CODE,
}


def file_format(kind: Kind, suffix: str) -> FileFormat | None:
    """The format of a file of `kind` named with `suffix` (None: not one that kind can be)."""
    if kind is Kind.PREDICTIONS:
        return PREDICTION_FORMATS.get(suffix)
    if kind is Kind.CODE:
        return FileFormat.ZIP
    if kind is Kind.FILES:
        return FileFormat.ZIP if suffix == ".zip" else FileFormat.FILE
    return MODEL_FORMATS.get(suffix, FileFormat.PICKLE)


def described(error: ValidationError) -> list[tuple[str, str]]:
    """What pydantic found wrong, as (where: a dotted field path, what), worded for an organiser."""
    found = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check its spelling)"
        elif item["type"] != "missing" and "input" in item and not isinstance(item["input"], dict):
            message = f"{message} (got {item['input']!r})"
        found.append((where, message))
    return found


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    opens: datetime | None = None
    closes: datetime | None = None
    reveal: datetime | None = None  # when the private board becomes public; else staff reveal it

    @field_validator("opens", "closes", "reveal")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-12-01T08:00:00Z")
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValueError(
                f"closes ({self.closes.isoformat()}) must be after opens ({self.opens.isoformat()})"
            )
        if self.reveal and not self.closes:
            raise ValueError("reveal needs closes: the private board is revealed after the close")
        if self.reveal and self.closes and self.reveal < self.closes:
            raise ValueError(
                f"reveal ({self.reveal.isoformat()}) must not be before closes ({self.closes.isoformat()})"
            )
        return self

    def is_open(self, now: datetime) -> bool:
        return (self.opens is None or now >= self.opens) and (self.closes is None or now < self.closes)

    def is_closed(self, now: datetime) -> bool:
        return self.closes is not None and now >= self.closes


class Limits(_Strict):
    per_day: Annotated[int, Field(ge=1)] = 5
    # Files that could not be used at all (invalid, unreadable, other library versions) use none of the
    # scored quota above, but have a bound of their own: each costs the platform a check and a transfer.
    invalid_per_day: Annotated[int, Field(ge=1, le=10_000)] = 10
    total: Annotated[int, Field(ge=1)] = 100
    team_size: Annotated[int, Field(ge=1)] = 4
    final_selections: Annotated[int, Field(ge=1)] = 2
    time_s: Annotated[int, Field(ge=1, le=24 * 3600)] = 120
    memory_mb: Annotated[int, Field(ge=64)] = 1024
    cpus: Annotated[float, Field(gt=0, le=64)] = 1.0
    upload_mb: Annotated[float, Field(gt=0, le=2048)] = 50.0
    # GPUs each model/code run needs: such runs go only to workers that advertise as many.
    gpus: Annotated[int, Field(ge=0, le=16)] = 0
    # Board rules, not sandbox limits: a model or code run over them is scored, shown to its team, not ranked.
    max_cpu_s: Annotated[float | None, Field(gt=0)] = None
    max_mib: Annotated[float | None, Field(gt=0)] = None

    @property
    def board_rules(self) -> BoardRules:
        return BoardRules(max_cpu_s=self.max_cpu_s, max_mib=self.max_mib)

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * 1024 * 1024)


MAX_PACKAGES = 100


def check_requirement(text: str) -> str:
    """One package a challenge's environment needs: a name with optional extras and versions. URLs,
    paths and pip options are refused: the platform's pip reads these, on the platform's hosts."""
    expected = "expected a requirement such as 'tabulate==0.9.0' (no URLs, paths or pip options)"
    if not text or len(text) > 200 or text.lstrip().startswith("-"):
        raise ValueError(f"{text[:200]!r}: {expected}")
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise ValueError(f"{text!r}: {expected}") from None
    if requirement.url:
        raise ValueError(f"{text!r}: {expected}")
    return str(requirement)


class Runtime(_Strict):
    """The challenge's own environment: packages beside the default runtime's (none: the default)."""

    packages: Annotated[list[str], Field(max_length=MAX_PACKAGES)] = []

    @field_validator("packages")
    @classmethod
    def _requirements(cls, packages: list[str]) -> list[str]:
        return [check_requirement(p) for p in packages]


class Groups(_Strict):
    """A column of the hidden labels file naming each row's group (sex, age band, site): the primary
    metric is also scored per group; a group under `min_size` rows in a subset is not reported alone."""

    column: Annotated[str, Field(min_length=1)]
    min_size: Annotated[int, Field(ge=1)] = DEFAULT_MIN_SIZE


class RankBy(StrEnum):
    OVERALL = "overall"
    WORST_GROUP = "worst_group"  # the worst reported group's score (needs `groups`)


class PublicBoard(StrEnum):
    PLAIN = "plain"  # each team's best public score
    LADDER = "ladder"  # each team's released score (scoring.ladder): what adaptive overfitting cannot climb


class DataFiles(_Strict):
    # A challenge scored by its own program has no labels file: its hidden `reference` folder instead.
    test_features: str | None = None
    test_labels: str | None = None
    reference: str | None = None  # a folder, hidden: the scoring program's /app/input/ref
    inputs: str | None = None  # a folder, public: what teams answer (images, texts), served as inputs.zip
    input_data: str | None = None  # a folder, hidden: what an ingestion program gives the team's code
    train: str | None = None
    sample_submission: str | None = None
    starter_kit: str | None = None  # a script or notebook that trains on train.csv and writes a submission


COLUMN_KEY = r"^[A-Za-z_][A-Za-z0-9_]{0,39}$"


class Column(_Strict):
    """A board column a scoring program writes into scores.json."""

    key: Annotated[str, Field(pattern=COLUMN_KEY)]
    label: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    higher_is_better: bool = True
    precision: Annotated[int, Field(ge=0, le=10)] = 4


# Codabench's defaults: the program's folder, the submission and reference folders, and its output.
DEFAULT_COMMAND = "python3 $program/score.py $input $output"
PROGRAM_PATHS = {
    "$program": "/app/program",
    "$input": "/app/input",
    "$output": "/app/output",
    "$ref": "/app/input/ref",
    "$res": "/app/input/res",
}


# An ingestion program's paths (Codabench's): the team's code, the test inputs, what it writes.
INGESTION_PATHS = {
    "$ingested_program": "/app/ingested_program",
    "$program": "/app/program",
    "$input_data": "/app/input_data",
    "$input": "/app/input_data",
    "$output": "/app/output",
}
DEFAULT_INGESTION_COMMAND = "python3 $program/ingestion.py $input_data $output $program $ingested_program"


class IngestionProgram(_Strict):
    """The organiser's driver for code submissions: it runs the team's code (/app/ingested_program) on
    the test inputs (/app/input_data, never the reference) in the team's sandbox, and what it writes to
    /app/output is what the scoring program then reads as the submission."""

    folder: Annotated[str, Field(min_length=1)]  # of the bundle, mounted read-only at /app/program
    command: Annotated[str, Field(min_length=1, max_length=500)] = DEFAULT_INGESTION_COMMAND


class ScoringProgram(_Strict):
    """The organiser's program that scores a submission of any shape: it reads /app/input/res (the
    submission), /app/input/ref (the hidden reference) and writes /app/output/scores.json."""

    folder: Annotated[str, Field(min_length=1)]  # of the bundle, mounted read-only at /app/program
    command: Annotated[str, Field(min_length=1, max_length=500)] = DEFAULT_COMMAND
    columns: Annotated[list[Column], Field(min_length=1, max_length=20)]
    ingestion: IngestionProgram | None = None  # code submissions run by it (kinds: code)

    @model_validator(mode="after")
    def _distinct(self) -> ScoringProgram:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"columns: each key once (got {', '.join(keys)})")
        return self

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


def program_kind(kinds: list[Kind]) -> Kind:
    """What a file sent to a scoring program's challenge without a `kind` is: code if that is all it
    takes, else files (a team sends `kind=code` when it takes both)."""
    return Kind.CODE if kinds == [Kind.CODE] else Kind.FILES


PHASE_KEY = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
ONE_PHASE = "main"  # the key of a challenge's only phase, when its bundle declares none
MAX_PHASES = 10


class PhaseData(_Strict):
    """A phase's own test data; a field left out is the challenge's (`data:`)."""

    test_features: str | None = None
    test_labels: str | None = None
    reference: str | None = None
    inputs: str | None = None
    input_data: str | None = None
    sample_submission: str | None = None
    starter_kit: str | None = None


class Phase(_Strict):
    """One stage of a challenge (a development phase on a public test set, then a final one): its own
    schedule and, where it says so, its own test data, accepted kinds, limits and metric. Each phase
    has its own boards; the teams, staff and record are the challenge's."""

    key: Annotated[str, Field(pattern=PHASE_KEY)]
    title: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    schedule: Schedule = Schedule()
    # CodaLab's auto_migration: when this phase opens, each team's final selections of the phase
    # before (else its best public submission) are sent again, to be scored on this phase's data.
    migrate: bool = False
    kinds: Annotated[list[Kind], Field(min_length=1)] | None = None
    limits: dict[str, object] | None = None  # fields of `limits:` this phase changes
    metric: str | None = None
    extra_metrics: list[str] | None = None
    public_fraction: Annotated[float, Field(gt=0, lt=1)] | None = None
    split_column: Annotated[str, Field(min_length=1)] | None = None
    program: ScoringProgram | None = None  # its own scoring (and ingestion) program
    data: PhaseData = PhaseData()

    @field_validator("limits")
    @classmethod
    def _team_size_is_the_challenge_s(cls, limits: dict[str, object] | None) -> dict[str, object] | None:
        if limits and "team_size" in limits:
            raise ValueError(
                "team_size is the challenge's (`limits.team_size`): a team lasts through every phase"
            )
        return limits

    @field_validator("schedule")
    @classmethod
    def _no_reveal(cls, schedule: Schedule) -> Schedule:
        if schedule.reveal is not None:
            raise ValueError("reveal is the challenge's (schedule.reveal), for every phase at once")
        return schedule

    def overrides(self) -> dict[str, object]:
        """The challenge's fields this phase sets, as they would be written in challenge.yaml."""
        return self.model_dump(
            mode="json",
            exclude_unset=True,
            exclude_none=True,
            exclude={"key", "title", "description", "migrate", "schedule", "data", "limits"},
        )


class ChallengeSpec(_Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    kinds: Annotated[list[Kind], Field(min_length=1)] = [Kind.PREDICTIONS]
    # A custom scorer (a scorer.py in the bundle, run in its own container) names its own metrics: then
    # `metric` is a key of the dict its score() returns, and the two fields after it are required.
    scorer: str | None = None
    # A scoring program (any file as the submission, its own board columns) instead of labels and metrics.
    program: ScoringProgram | None = None
    higher_is_better: bool | None = None
    prediction: Output | None = None  # what participants submit: label, probability or value
    metric: str
    extra_metrics: list[str] = []
    id_column: Annotated[str, Field(min_length=1)] = "id"
    target_column: str = ""  # required, unless a scoring program reads the answers
    public_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    # A labels file's column naming each row's subset (public / private), instead of a seeded fraction.
    split_column: Annotated[str, Field(min_length=1)] | None = None
    split_seed: str | None = None
    schedule: Schedule = Schedule()
    limits: Limits = Limits()
    runtime_image: str = "riality/runtime-python:latest"
    runtime: Runtime = Runtime()
    groups: Groups | None = None
    rank_by: RankBy = RankBy.OVERALL
    public_board: PublicBoard = PublicBoard.PLAIN
    data: DataFiles
    # None declared: the challenge is one phase (ONE_PHASE) with the fields above.
    phases: Annotated[list[Phase], Field(max_length=MAX_PHASES)] = []
    _phase_specs: dict[str, ChallengeSpec] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _schedule_from_phases(cls, raw: object) -> object:
        """With phases, the challenge runs from the first phase's opening to the last one's close."""
        if not isinstance(raw, dict) or not isinstance(phases := raw.get("phases"), list) or not phases:
            return raw
        schedule = raw.get("schedule") or {}
        if not isinstance(schedule, dict) or not all(isinstance(p, dict) for p in phases):
            return raw
        derived = {
            "opens": (phases[0].get("schedule") or {}).get("opens"),
            "closes": (phases[-1].get("schedule") or {}).get("closes"),
        }
        for field, value in derived.items():
            given = schedule.get(field)
            if given is not None and str(given) != str(value):
                raise ValueError(
                    f"schedule.{field}: with phases, each phase has its own schedule (the challenge "
                    f"{field} with its {'first' if field == 'opens' else 'last'} phase); leave it out"
                )
        return {**raw, "schedule": {**schedule, **derived}}

    @field_validator("groups", mode="before")
    @classmethod
    def _group_column(cls, value: object) -> object:
        return {"column": value} if isinstance(value, str) else value  # `groups: sex`, the short form

    @field_validator(
        "title", "description", "id_column", "target_column", "split_seed", "runtime_image", "split_column"
    )
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # Stored as text: PostgreSQL refuses a NUL in it, and no title or column name needs one.
        if value is not None and "\x00" in value:
            raise ValueError("a NUL character is not allowed")
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, name: str, info: ValidationInfo) -> str:
        if info.data.get("scorer") or info.data.get("program"):
            return name
        try:
            get_metric(name)
        except UnknownMetricError as exc:
            raise ValueError(str(exc)) from None
        return name

    @field_validator("extra_metrics")
    @classmethod
    def _known_extra(cls, names: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("scorer") or info.data.get("program"):
            return names
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ValueError(
                f"unknown metric(s) {', '.join(unknown)}; expected names from: {', '.join(sorted(REGISTRY))}"
            )
        return names

    @model_validator(mode="after")
    def _phases_coherent(self) -> ChallengeSpec:
        keys = [p.key for p in self.phases]
        if len(set(keys)) != len(keys):
            raise ValueError(f"phases: each key once (got {', '.join(keys)})")
        for before, after in itertools.pairwise(self.phases):
            if before.schedule.closes is None or after.schedule.opens is None:
                raise ValueError(
                    f"phases: {before.key!r} needs schedule.closes and {after.key!r} schedule.opens, "
                    "so that one phase follows the other"
                )
            if after.schedule.opens < before.schedule.closes:
                raise ValueError(
                    f"phases: {after.key!r} opens ({after.schedule.opens.isoformat()}) before "
                    f"{before.key!r} closes ({before.schedule.closes.isoformat()}); phases may not overlap"
                )
        if self.phases and self.phases[0].migrate:
            raise ValueError(
                f"phases: {self.phases[0].key!r} is the first phase: there is nothing to migrate"
            )
        for phase in self.phases:
            self.phase_spec(phase.key)  # each phase's own challenge must be valid as a whole
        return self

    @model_validator(mode="after")
    def _coherent(self) -> ChallengeSpec:
        if self.phases:
            return self  # each phase's own challenge is checked as a whole (phase_spec)
        if self.program is not None:
            return self._program_coherent()
        if Kind.FILES in self.kinds:
            raise ValueError("kinds: files needs a scoring program (`program:`) to read them")
        missing = [f for f in ("test_features", "test_labels") if getattr(self.data, f) is None]
        if missing or not self.target_column:
            names = [f"data.{f}" for f in missing] + ([] if self.target_column else ["target_column"])
            raise ValueError(f"{' and '.join(names)} required (or a scoring program, `program:`)")
        if self.data.reference is not None or self.data.inputs is not None:
            raise ValueError("data.reference and data.inputs are for a scoring program (`program:`)")
        if self.id_column == self.target_column:
            raise ValueError("id_column and target_column must differ")
        if self.groups is not None and self.groups.column in (self.id_column, self.target_column):
            raise ValueError("groups.column must differ from id_column and target_column")
        named = (self.id_column, self.target_column, self.groups.column if self.groups else None)
        if self.split_column is not None and self.split_column in named:
            raise ValueError("split_column must differ from id_column, target_column and groups.column")
        if self.rank_by is RankBy.WORST_GROUP and self.groups is None:
            raise ValueError("rank_by: worst_group needs `groups: <column of the labels file>`")
        if self.groups is not None and self.scorer is not None:
            raise ValueError(
                "groups are scored with the built-in metrics; a challenge with a scorer cannot set them"
            )
        if self.public_board is PublicBoard.LADDER:
            self._ladder_possible()
        if self.scorer is not None:
            missing = [f for f in ("higher_is_better", "prediction") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a challenge with a scorer must also set {' and '.join(missing)}")
            return self
        if self.higher_is_better is not None or self.prediction is not None:
            raise ValueError(
                "higher_is_better and prediction are only for custom scorers; built-in metrics know theirs"
            )
        primary = self.primary_metric
        for extra in self.extras:
            if extra.task is not primary.task:
                raise ValueError(
                    f"extra metric {extra.name!r} is for {extra.task}, but {primary.name!r} is for {primary.task}"
                )
            if extra.needs is Output.PROBABILITY and primary.needs is not Output.PROBABILITY:
                raise ValueError(
                    f"extra metric {extra.name!r} needs probabilities, but {primary.name!r} asks participants for "
                    "labels; make a probability metric the primary one"
                )
        return self

    def _program_coherent(self) -> ChallengeSpec:
        """A scoring program reads the submission and the reference; labels, metrics and scorer are its."""
        assert self.program is not None
        if not set(self.kinds) <= {Kind.FILES, Kind.CODE}:
            raise ValueError("a challenge with a scoring program takes `kinds: [files]`, [code] or both")
        if Kind.CODE in self.kinds and self.program.ingestion is None:
            raise ValueError(
                "kinds: code needs program.ingestion: the organiser's program that runs the code"
            )
        if self.data.input_data is not None and self.program.ingestion is None:
            raise ValueError("data.input_data is for an ingestion program (program.ingestion)")
        if self.data.reference is None:
            raise ValueError(
                "a scoring program needs data.reference: the folder of its hidden reference data"
            )
        clashing = [
            name
            for name, value in (
                ("scorer", self.scorer),
                ("data.test_labels", self.data.test_labels),
                ("data.test_features", self.data.test_features),
                ("data.sample_submission", self.data.sample_submission),
                ("groups", self.groups),
                ("higher_is_better", self.higher_is_better),
                ("prediction", self.prediction),
                ("split_column", self.split_column),
                ("extra_metrics", self.extra_metrics),
            )
            if value
        ]
        if self.public_board is PublicBoard.LADDER:
            clashing.append("public_board: ladder")
        if self.rank_by is not RankBy.OVERALL:
            clashing.append("rank_by")
        if clashing:
            raise ValueError(
                f"a challenge scored by its program cannot also set {', '.join(clashing)} (the program's "
                "columns are its metrics; its reference folder holds the answers)"
            )
        if self.program.column(self.metric) is None:
            keys = ", ".join(c.key for c in self.program.columns)
            raise ValueError(f"metric {self.metric!r} must be one of the program's columns ({keys})")
        return self

    def _ladder_possible(self) -> None:
        if self.scorer is not None or self.rank_by is not RankBy.OVERALL or self.metric not in ROW_LOSSES:
            raise ValueError(
                "public_board: ladder compares per-row losses, so it needs a built-in metric that is a mean "
                f"of them ({', '.join(ROW_LOSSES)}), no scorer, and rank_by: overall; got metric "
                f"{self.metric!r}" + (", a scorer" if self.scorer else "") + f", rank_by: {self.rank_by}"
            )

    @property
    def ladder(self) -> bool:
        return self.public_board is PublicBoard.LADDER

    @property
    def board_rules(self) -> BoardRules:
        """What the boards enforce: the efficiency limits, and which submission is a team's public entry."""
        return replace(self.limits.board_rules, ladder=self.ladder)

    def _custom(self, name: str) -> Metric:
        if self.program is not None:
            column = self.program.column(name)
            assert column is not None
            return Metric(
                name,
                column.higher_is_better,
                Task.REGRESSION,
                Output.VALUE,
                _scored_by_scorer,
                column.label or name,
            )
        assert self.prediction is not None and self.higher_is_better is not None
        task = Task.REGRESSION if self.prediction is Output.VALUE else Task.CLASSIFICATION
        return Metric(
            name, self.higher_is_better, task, self.prediction, _scored_by_scorer, "from the scorer"
        )

    @property
    def custom_metrics(self) -> bool:
        """Its metrics are named by the organiser's code (a scorer or a scoring program), not the registry."""
        return self.scorer is not None or self.program is not None

    @property
    def precision(self) -> int:
        """Digits the boards show of the ranked score: a scoring program's column says; else 4."""
        column = self.program.column(self.metric) if self.program else None
        return column.precision if column else 4

    @property
    def primary_metric(self) -> Metric:
        return self._custom(self.metric) if self.custom_metrics else get_metric(self.metric)

    @property
    def extras(self) -> list[Metric]:
        if self.program is not None:
            return [self._custom(c.key) for c in self.program.columns if c.key != self.metric]
        names = [n for n in self.extra_metrics if n != self.metric]
        return [self._custom(n) if self.scorer else get_metric(n) for n in names]

    @property
    def task(self) -> Task:
        return self.primary_metric.task

    def expectation(self, truth: GroundTruth) -> Expectation:
        """What a valid predictions file for this challenge looks like."""
        return expectation_for(
            truth,
            self.primary_metric,
            id_column=self.id_column,
            target_column=self.target_column,
            max_bytes=self.limits.upload_bytes,
        )

    @property
    def seed(self) -> str:
        return self.split_seed or self.slug

    @property
    def has_uncertainty(self) -> bool:
        """Its boards get bootstrap intervals and ties (runner.uncertainty): the built-in metrics of an
        overall ranking (not a challenge's own scorer, not a worst-group ranking)."""
        return not self.custom_metrics and self.rank_by is RankBy.OVERALL

    def read_truth(self, labels: bytes) -> GroundTruth:
        """The hidden test set from the labels file's bytes (LabelsFileError if unusable)."""
        return load_truth(
            labels,
            id_column=self.id_column,
            target_column=self.target_column,
            task=self.task,
            fraction=self.public_fraction,
            seed=self.seed,
            group_column=self.groups.column if self.groups else None,
            split_column=self.split_column,
        )

    def score(self, truth: GroundTruth, predictions: np.ndarray) -> Scores:
        """Validated predictions scored with the built-in metrics, by this challenge's rules."""
        return score(
            truth,
            predictions,
            self.primary_metric,
            self.extras,
            min_group_size=self.groups.min_size if self.groups else DEFAULT_MIN_SIZE,
            by_worst_group=self.rank_by is RankBy.WORST_GROUP,
        )

    @property
    def phase_keys(self) -> list[str]:
        return [p.key for p in self.phases] or [ONE_PHASE]

    def phase(self, key: str) -> Phase | None:
        return next((p for p in self.phases if p.key == key), None)

    def phase_at(self, now: datetime) -> str:
        """The current phase: the last one opened by `now`; before the first opens, the first."""
        current = self.phase_keys[0]
        for phase in self.phases:
            if phase.schedule.opens is None or phase.schedule.opens <= now:
                current = phase.key
        return current

    def phase_before(self, key: str) -> str | None:
        keys = self.phase_keys
        index = keys.index(key)
        return keys[index - 1] if index > 0 else None

    def phase_spec(self, key: str) -> ChallengeSpec:
        """The challenge as phase `key` runs it: its fields with the phase's in their place (no phases)."""
        if not self.phases and key == ONE_PHASE:
            return self
        if key in self._phase_specs:
            return self._phase_specs[key]
        phase = self.phase(key)
        if phase is None:
            raise KeyError(f"no phase {key!r}; expected one of {', '.join(self.phase_keys)}")
        raw = self.model_dump(mode="json", exclude={"phases"}, exclude_none=True)
        raw.update(phase.overrides())
        raw["schedule"] = {**phase.schedule.model_dump(mode="json", exclude_none=True)}
        if self.schedule.reveal is not None:
            raw["schedule"]["reveal"] = self.schedule.reveal.isoformat()
        raw["limits"] = {**raw["limits"], **(phase.limits or {})}
        raw["data"] = {**raw["data"], **phase.data.model_dump(exclude_none=True)}
        try:
            spec = ChallengeSpec.model_validate(raw)
        except ValidationError as exc:
            found = "; ".join(f"{where}: {what}" for where, what in described(exc))
            raise ValueError(f"phases: {key!r}: {found}") from None
        self._phase_specs[key] = spec
        return spec
