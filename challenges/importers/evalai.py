"""EvalAI challenges (`challenge_config.yaml` zipped with its files), translated into a riality bundle
scored by the challenge's own evaluation script.

How EvalAI scores, which the translation keeps: its `evaluation_script` package's
`evaluate(test_annotation_file, user_submission_file, phase_codename)` runs on each submission
(riality's driver, `evalai_driver.py`, calls it in the sandbox) and returns a result per dataset split;
a split whose leaderboard is public (visibility 3) fills the public board, a host-only one the private
board. Every phase comes over, each scored on its own annotation file; everything not honoured is
reported.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

from challenges.importers.common import (
    Column,
    Phase,
    PhasePlan,
    Unpack,
    entry,
    inside,
    page,
    read_yaml,
    sequence,
    when,
    write_manifest,
)
from challenges.importers.report import Imported, Refused

CONFIG = "challenge_config.yaml"
DRIVER = Path(__file__).with_name("evalai_driver.py")
PUBLIC, HOSTS = 3, 1  # challenge_phase_splits.visibility: 1 hosts, 2 hosts and the submitter, 3 everyone
PAGES = (
    ("description", "Overview"),
    ("evaluation_details", "Evaluation"),
    ("submission_guidelines", "Submission"),
    ("terms_and_conditions", "Terms"),
)
PHASE_FIELDS_NOT_HONOURED = {
    "max_submissions_per_month": "a monthly limit",
    "max_concurrent_submissions_allowed": "a limit on concurrent submissions",
    "submission_meta_attributes": "questions asked with each submission",
    "is_restricted_to_select_one_submission": "one final selection (riality's default is set in limits)",
    "allowed_submission_file_types": "the allowed file types (the evaluation script decides what is valid)",
    "allowed_email_ids": "a list of allowed participants",
}
TOP_FIELDS_NOT_HONOURED = {
    "image": "the challenge's logo",
    "remote_evaluation": "remote evaluation (riality's workers evaluate)",
    "is_docker_based": "Docker-image submissions",
    "allowed_email_domains": "allowed e-mail domains",
    "blocked_email_domains": "blocked e-mail domains",
    "tags": "tags",
    "domain": "the domain",
}


def detect(root: Path) -> bool:
    return (root / CONFIG).is_file()


def _description(root: Path, raw: dict[str, Any]) -> str:
    parts = [str(raw.get("short_description") or "")]
    parts += [page(root, raw.get(key), title) for key, title in PAGES]
    return "\n\n".join(p for p in parts if p).strip()


def _phases(root: Path, raw: dict[str, Any], notes: list[str]) -> list[Phase]:
    listed = raw.get("challenge_phases")
    if not isinstance(listed, list) or not listed:
        raise Refused(f"{CONFIG} challenge_phases", "expected a list of phases")
    phases = []
    for position, phase in enumerate(listed):
        where = f"challenge_phases[{position}]"
        if not phase.get("codename") or not phase.get("test_annotation_file"):
            raise Refused(where, "expected a codename and a test_annotation_file")
        name = str(phase.get("name") or phase["codename"])
        start, end = (
            when(phase.get("start_date"), f"{where}.start_date", notes),
            when(phase.get("end_date"), f"{where}.end_date", notes),
        )
        phases.append(Phase(name, start, end, phase))
    return phases


def _splits(raw: dict[str, Any], phase: Phase, notes: list[str]) -> tuple[str, str, dict[str, Any]]:
    """The public split's codename, the host-only split's ('' if none), and the public split's settings."""
    codenames = {s.get("id"): s.get("codename") for s in raw.get("dataset_splits") or []}
    links = [
        s
        for s in raw.get("challenge_phase_splits") or []
        if s.get("challenge_phase_id") == phase.raw.get("id")
    ]
    public = [s for s in links if int(s.get("visibility", PUBLIC)) == PUBLIC]
    hosts = [s for s in links if int(s.get("visibility", PUBLIC)) != PUBLIC]
    if not public:
        raise Refused("challenge_phase_splits", f"phase {phase.name!r} has no public split (visibility 3)")
    if len(public) > 1 or len(hosts) > 1:
        notes.append(
            f"phase {phase.name!r}: {len(links)} splits; riality boards the first public and host-only ones"
        )
    if not hosts:
        notes.append(f"phase {phase.name!r} has no host-only split: the private board repeats the public one")
    if any(int(s.get("visibility", PUBLIC)) == 2 for s in hosts):
        notes.append(
            "a split shown to its submitter (visibility 2) is boarded privately (staff, after reveal)"
        )
    name = codenames.get(public[0].get("dataset_split_id"))
    private = codenames.get(hosts[0].get("dataset_split_id")) if hosts else ""
    if not name:
        raise Refused(
            "challenge_phase_splits", "dataset_split_id: expected the id of a split in dataset_splits"
        )
    return str(name), str(private or ""), public[0]


def _columns(raw: dict[str, Any], split: dict[str, Any]) -> list[Column]:
    boards = {b.get("id"): b for b in raw.get("leaderboard") or []}
    board = boards.get(split.get("leaderboard_id"))
    if board is None:
        raise Refused(
            "leaderboard", f"no leaderboard with id {split.get('leaderboard_id')!r} for the public split"
        )
    schema = board.get("schema") or {}
    labels = [str(label) for label in schema.get("labels") or []]
    if not labels:
        raise Refused("leaderboard.schema.labels", "expected the leaderboard's column labels")
    first = schema.get("default_order_by") if schema.get("default_order_by") in labels else labels[0]
    labels.remove(first)
    metadata = schema.get("metadata") or {}
    precision = int(split.get("leaderboard_decimal_precision", 2))
    columns = []
    for position, label in enumerate([first, *labels]):
        ascending = bool((metadata.get(label) or {}).get("sort_ascending", False))
        if position == 0 and "is_leaderboard_order_descending" in split:
            ascending = not split["is_leaderboard_order_descending"]
        if not label.replace("_", "a").isalnum() or label[0].isdigit() or len(label) > 40:
            raise Refused("leaderboard.schema.labels", f"{label!r}: expected a name of letters, digits and _")
        columns.append(Column(key=label, title=label, higher_is_better=not ascending, precision=precision))
    return columns


def _plan(root: Path, raw: dict[str, Any], phase: Phase, out: Path, notes: list[str]) -> PhasePlan:
    """How one phase is scored: the evaluation script on its annotation file, its splits on the boards."""
    public, private, split = _splits(raw, phase, notes)
    for key, what in PHASE_FIELDS_NOT_HONOURED.items():
        if phase.raw.get(key):
            notes.append(f"phase {phase.name!r}: {what} not honoured")
    if phase.raw.get("is_public") is False:
        notes.append(f"phase {phase.name!r} was hidden there; it opens to everyone here once published")
    annotation = Path(str(phase.raw["test_annotation_file"]))
    source = inside(root, annotation)
    if source is None or not source.is_file():
        raise Refused(f"phase {phase.name!r} test_annotation_file", f"{annotation} not found in the bundle")
    reference = "reference-" + re.sub(
        r"[^A-Za-z0-9_-]", "_", str(phase.raw["codename"])
    )  # each phase its own
    (out / reference).mkdir(exist_ok=True)
    shutil.copyfile(source, out / reference / annotation.name)
    command = shlex.join(
        [
            "python3",
            f"$program/{DRIVER.name}",
            "$program",
            "$input",
            "$output",
            str(phase.raw["codename"]),
            annotation.name,
            public,
            private,
        ]
    )
    limits = {
        key: int(phase.raw[field])
        for key, field in (("per_day", "max_submissions_per_day"), ("total", "max_submissions"))
        if phase.raw.get(field)
    }
    return PhasePlan(phase, command, _columns(raw, split), limits, {"reference": reference})


def translate(root: Path, out: Path, unpack: Unpack) -> Imported:
    raw = read_yaml(root / CONFIG)
    notes: list[str] = []
    phases = sequence(_phases(root, raw, notes), notes)
    for key, what in TOP_FIELDS_NOT_HONOURED.items():
        if raw.get(key):
            notes.append(f"{key}: {what} not imported")
    if not raw.get("evaluation_script"):
        raise Refused(CONFIG, "no evaluation_script: riality needs it to score submissions")
    out.mkdir(parents=True)
    plans = [_plan(root, raw, phase, out, notes) for phase in phases]
    entry(root, raw["evaluation_script"], "evaluation_script", out / "program" / "evaluation_script", unpack)
    shutil.copyfile(DRIVER, out / "program" / DRIVER.name)
    write_manifest(
        out,
        title=str(raw.get("title") or "Imported challenge")[:200],
        slug_fallback="evalai-challenge",
        description=_description(root, raw),
        plans=plans,
        notes=notes,
    )
    return Imported("EvalAI (challenge_config.yaml)", out, notes)
