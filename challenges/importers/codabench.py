"""Codabench (version 2) and CodaLab Competitions (version 1.5) bundles: a `competition.yaml` at the
top, with programs and data as folders or zips, translated into a riality bundle scored by its program.

How those platforms score, which the translation keeps: the scoring program runs with the reference
data at /app/input/ref and the submission at /app/input/res, and writes scores.json (Codabench) or
scores.txt (CodaLab) keyed by the leaderboard's column keys; its `metadata.yaml` (or `metadata`)
gives the command. Every phase comes over, with its own programs, data, limits and auto-migration;
every feature riality does not honour is named in the import report.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from challenges.importers.common import (
    Column,
    Entries,
    Phase,
    PhasePlan,
    Unpack,
    inside,
    mappings,
    page,
    read_yaml,
    sequence,
    shown,
    when,
    whole_number,
    write_manifest,
)
from challenges.importers.report import Imported, Refused
from challenges.spec import DEFAULT_COMMAND, DEFAULT_INGESTION_COMMAND

COMPETITION = "competition.yaml"

# Top-level keys with no counterpart here, and what they were.
IGNORED = {
    "image": "the competition's logo",
    "registration_auto_approve": "registration approval (riality's teams register themselves)",
    "fact_sheet": "the fact sheet questions asked with each submission",
    "auto_run_submissions": "auto_run_submissions (riality always scores a submission at once)",
    "make_programs_available": "make_programs_available (the scoring program stays hidden)",
    "queue": "a dedicated compute queue (riality's workers serve every challenge)",
    "show_datasets_from_yaml": "show_datasets_from_yaml",
    "enable_forum": "the forum",
}
_DEFAULT_IMAGES = ("codalab/codalab-legacy:py3", "codalab/codalab-legacy:py37", "codalab/codalab-legacy:py39")
_DAY_TIME_LIMIT_S = 24 * 3600


def detect(root: Path) -> bool:
    return (root / COMPETITION).is_file()


def _is_v2(raw: dict[str, Any]) -> bool:
    return str(raw.get("version", "")).strip() == "2" or isinstance(raw.get("tasks"), list)


def _v2_phases(raw: dict[str, Any], notes: list[str]) -> list[Phase]:
    if not raw.get("tasks"):
        raise Refused(COMPETITION, "no tasks: a Codabench bundle lists its tasks (scoring program, data)")
    listed = mappings(raw["tasks"], f"{COMPETITION} tasks", "tasks")
    tasks = {whole_number(t.get("index"), f"tasks[{n}].index", n): t for n, t in enumerate(listed)}
    phases = raw.get("phases")
    if not isinstance(phases, list) or not phases:
        raise Refused(f"{COMPETITION} phases", "expected a list of phases, each with its tasks")
    phases = mappings(phases, f"{COMPETITION} phases", "phases")
    order = [whole_number(p.get("index"), f"phases[{n}].index") for n, p in enumerate(phases)]
    found = []
    for position, (_, phase) in enumerate(sorted(zip(order, phases, strict=True), key=lambda pair: pair[0])):
        where = f"phases[{position}]"
        indexes = phase.get("tasks")
        if not isinstance(indexes, list) or not indexes or indexes[0] not in tasks:
            raise Refused(where, f"tasks: expected the index of a task in `tasks` (got {shown(indexes)})")
        if len(indexes) > 1:
            notes.append(f"{where}: {len(indexes)} tasks; riality scores the first ({indexes[0]}) only")
        name = str(phase.get("name") or f"phase {position + 1}")
        start, end = (
            when(phase.get("start"), f"{where}.start", notes),
            when(phase.get("end"), f"{where}.end", notes),
        )
        found.append(Phase(name, start, end, phase, dict(tasks[indexes[0]])))
    return found


def _v15_phases(raw: dict[str, Any], notes: list[str]) -> list[Phase]:
    phases = raw.get("phases")
    if not isinstance(phases, dict) or not phases:
        raise Refused(f"{COMPETITION} phases", "expected phases keyed by their number (CodaLab 1.5)")
    listed = mappings(list(phases.values()), f"{COMPETITION} phases", "phases keyed by their number")
    numbers = [
        whole_number(p.get("phasenumber"), f"phases.{key}.phasenumber")
        for key, p in zip(phases, listed, strict=True)
    ]
    ordered = [phase for _, phase in sorted(zip(numbers, listed, strict=True), key=lambda pair: pair[0])]
    found = []
    for position, phase in enumerate(ordered):
        where = f"phases.{phase.get('phasenumber', position + 1)}"
        start = when(phase.get("start_date"), f"{where}.start_date", notes)
        task = {
            k: phase[k]
            for k in ("scoring_program", "reference_data", "input_data", "ingestion_program")
            if phase.get(k)
        }
        found.append(Phase(str(phase.get("label") or f"phase {position + 1}"), start, None, phase, task))
    return found  # a CodaLab phase has no end: it ends when the next one starts (sequence)


def _v2_columns(raw: dict[str, Any], notes: list[str]) -> list[Column]:
    boards = raw.get(
        "leaderboards", raw.get("leaderboard")
    )  # its parser wants the first, its docs say the second
    if isinstance(boards, dict):
        boards = [boards]
    if not isinstance(boards, list) or not boards or not isinstance(boards[0], dict):
        raise Refused(f"{COMPETITION} leaderboards", "expected a list of leaderboards, each with its columns")
    for extra in boards[1:]:
        notes.append(
            f"leaderboard {extra.get('title') or extra.get('key')!r} not imported: riality shows one"
        )
    board = boards[0]
    rule = board.get("submission_rule")
    if rule and rule not in ("Add", "Add_And_Delete", "Force_Best"):
        notes.append(f"submission_rule {rule}: riality's board keeps each team's best submission")
    columns = []
    listed = mappings(board.get("columns") or [], "leaderboards[0].columns", "columns")
    order = [
        whole_number(c.get("index"), f"leaderboards[0].columns[{n}].index") for n, c in enumerate(listed)
    ]
    ranked = [column for _, column in sorted(zip(order, listed, strict=True), key=lambda pair: pair[0])]
    for position, column in enumerate(ranked):
        where = f"leaderboards[0].columns[{position}]"
        if column.get("computation"):
            notes.append(
                f"{where}: computed column {column.get('key')!r} ({column['computation']}) not imported"
            )
            continue
        columns.append(
            Column(
                key=_key(column.get("key"), where),
                title=str(column.get("title") or column.get("key")),
                higher_is_better=str(column.get("sorting", "desc")).lower() != "asc",
                precision=whole_number(column.get("precision"), f"{where}.precision", 2),
                hidden=bool(column.get("hidden")),
            )
        )
    primary = board.get("primary_index", 0)
    if columns and isinstance(primary, int) and 0 < primary < len(columns):
        columns.insert(0, columns.pop(primary))
    return columns


def _v15_columns(raw: dict[str, Any], notes: list[str]) -> list[Column]:
    board = raw.get("leaderboard") or {}
    described = board.get("columns") if isinstance(board, dict) else None
    if not isinstance(described, dict) or not described:
        raise Refused(
            f"{COMPETITION} leaderboard.columns", "expected the leaderboard's columns keyed by name"
        )
    boards = board.get("leaderboards") or {}
    if isinstance(boards, dict) and len(boards) > 1:
        notes.append(f"{len(boards)} leaderboards; riality shows their columns on one board")
    columns = []
    ranks = {}
    for key, column in described.items():
        if column is not None and not isinstance(column, dict):
            raise Refused(f"leaderboard.columns.{key}", f"expected a mapping of fields (got {shown(column)})")
        ranks[key] = whole_number((column or {}).get("rank"), f"leaderboard.columns.{key}.rank")
    for key, column in sorted(described.items(), key=lambda item: ranks[item[0]]):
        column = column or {}
        if column.get("computed"):
            notes.append(f"leaderboard.columns.{key}: computed column not imported")
            continue
        digits = re.match(r"\d+", str(column.get("numeric_format", "4")))
        columns.append(
            Column(
                key=_key(key, f"leaderboard.columns.{key}"),
                title=str(column.get("label") or key),
                higher_is_better=str(column.get("sort", "desc")).lower() != "asc",
                precision=min(10, int(digits.group())) if digits else 4,
            )
        )
    return columns


def _key(value: object, where: str) -> str:
    key = str(value or "")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", key):
        raise Refused(f"{where}.key", f"{key!r}: expected a name of letters, digits and _ (at most 40)")
    return key


def _command(program: Path, notes: list[str], what: str, default: str) -> str:
    for name in ("metadata.yaml", "metadata"):
        path = program / name
        if path.is_file():
            try:
                metadata = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise Refused(f"{what.replace(' ', '_')}/{name}", f"not valid YAML: {exc}") from None
            command = metadata.get("command") if isinstance(metadata, dict) else None
            if isinstance(command, str) and command.strip():
                return command.strip()
    notes.append(f"the {what} has no metadata.yaml command; riality runs `{default}`")
    return default


def _description(root: Path, raw: dict[str, Any]) -> str:
    parts = [str(raw.get("description") or "")]
    pages = [(p.get("title"), p.get("file")) for p in raw.get("pages") or [] if isinstance(p, dict)]
    html = raw.get("html") if isinstance(raw.get("html"), dict) else {}
    pages += [(title.title(), name) for title, name in html.items()]
    if raw.get("terms"):
        pages.append(("Terms", raw["terms"]))
    parts += [page(root, name, str(title)) for title, name in pages]
    return "\n\n".join(p for p in parts if p).strip()


def _limits(phase: Phase, notes: list[str]) -> dict[str, Any]:
    raw = phase.raw
    limits: dict[str, Any] = {}
    if raw.get("max_submissions_per_day"):
        limits["per_day"] = int(raw["max_submissions_per_day"])
    if raw.get("max_submissions"):
        limits["total"] = int(raw["max_submissions"])
    seconds = raw.get("execution_time_limit")
    if raw.get("execution_time_limit_ms"):
        seconds = int(raw["execution_time_limit_ms"]) / 1000
    if seconds:
        limits["time_s"] = max(1, min(_DAY_TIME_LIMIT_S, int(seconds)))
    for key, what in (
        ("hide_output", "hide_output (the team sees what the program refused, never its logs)"),
        ("max_submissions_per_person", "per-person limits (riality counts per team)"),
    ):
        if raw.get(key):
            notes.append(f"phase {phase.name!r}: {what}")
    return limits


def _copy_solutions(root: Path, raw: dict[str, Any], out: Path, notes: list[str]) -> None:
    """Codabench's solutions (the organiser's example submissions) become baselines on the boards."""
    for position, solution in enumerate(raw.get("solutions") or []):
        path = inside(root, solution.get("path", ""))
        if path is None or not (path.is_file() or path.is_dir()):
            notes.append(f"solutions[{position}]: {solution.get('path')!r} not found; not imported")
            continue
        name = (
            re.sub(r"[^A-Za-z0-9 _.-]", "", str(solution.get("name") or path.stem))[:40].strip()
            or f"solution {position + 1}"
        )
        (out / "baselines").mkdir(exist_ok=True)
        if path.is_dir():
            shutil.make_archive(str(out / "baselines" / name), "zip", path)
        else:
            shutil.copyfile(path, out / "baselines" / f"{name}{path.suffix or '.zip'}")


def _plan(phase: Phase, columns: list[Column], entries: Entries, notes: list[str]) -> PhasePlan:
    """How one phase is scored, and on what: its task's programs and data."""
    task, where = phase.task, f"phase {phase.name!r}"
    if not task.get("scoring_program"):
        raise Refused(where, "no scoring program: riality needs one to score submissions")
    if not task.get("reference_data"):
        raise Refused(where, "no reference_data: the scoring program's hidden answers")
    if task.get("input_data") and not task.get("ingestion_program"):
        notes.append(f"{where}: input_data not imported: without an ingestion program nothing reads it")
    program = entries.folder(task["scoring_program"], "scoring_program", "program")
    data: dict[str, Any] = {
        "reference": entries.folder(task["reference_data"], "reference_data", "reference")
    }
    public = phase.raw.get("public_data") or task.get("public_data")
    if public:
        data["inputs"] = entries.folder(public, "public_data", "inputs")
    if phase.raw.get("starting_kit"):
        data["starter_kit"] = entries.zipped(phase.raw["starting_kit"], "starting_kit", "starter")
    ingestion = None
    if task.get("ingestion_program"):
        folder = entries.folder(task["ingestion_program"], "ingestion_program", "ingestion")
        command = _command(entries.out / folder, notes, "ingestion program", DEFAULT_INGESTION_COMMAND)
        ingestion = {"folder": folder, "command": command}
        if task.get("input_data"):
            data["input_data"] = entries.folder(task["input_data"], "input_data", "input_data")
        if phase.raw.get("accepts_only_result_submissions"):
            notes.append(f"{where}: accepts_only_result_submissions: code submissions are refused, as there")
    return PhasePlan(
        source=phase,
        command=_command(entries.out / program, notes, "scoring program", DEFAULT_COMMAND),
        columns=columns,
        limits=_limits(phase, notes),
        data=data,
        ingestion=ingestion,
        code=ingestion is not None and not phase.raw.get("accepts_only_result_submissions"),
        folder=program,
    )


def translate(root: Path, out: Path, unpack: Unpack) -> Imported:
    raw = read_yaml(root / COMPETITION)
    version = (
        "Codabench (competition.yaml, version 2)" if _is_v2(raw) else "CodaLab Competitions (version 1.5)"
    )
    notes: list[str] = []
    phases = sequence(_v2_phases(raw, notes) if _is_v2(raw) else _v15_phases(raw, notes), notes)
    columns = _v2_columns(raw, notes) if _is_v2(raw) else _v15_columns(raw, notes)
    if not columns:
        raise Refused(f"{COMPETITION} leaderboard", "no column to rank by")
    for key, what in IGNORED.items():
        if raw.get(key):
            notes.append(f"{key}: {what} not imported")
    image = raw.get("docker_image")
    if image and image not in _DEFAULT_IMAGES:
        notes.append(
            f"docker_image {image}: the scoring program runs in riality's runtime image (Python 3.11 with "
            "numpy, pandas, scikit-learn…); list what else it needs in runtime.packages"
        )
    elif image:
        notes.append(f"docker_image {image}: the program runs in riality's runtime image (Python 3.11)")
    out.mkdir(parents=True)
    entries = Entries(root, out, unpack)
    plans = [_plan(phase, columns, entries, notes) for phase in phases]
    _copy_solutions(root, raw, out, notes)
    notes.append(
        "the private board repeats the public one unless the scoring program writes "
        '{"public": {...}, "private": {...}} (those platforms board each phase once)'
    )
    write_manifest(
        out,
        title=str(raw.get("title") or "Imported competition")[:200],
        slug_fallback="codabench-competition",
        description=_description(root, raw),
        plans=plans,
        notes=notes,
    )
    return Imported(version, out, list(dict.fromkeys(notes)))
