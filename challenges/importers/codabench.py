"""Codabench (version 2) and CodaLab Competitions (version 1.5) bundles: a `competition.yaml` at the
top, with programs and data as folders or zips, translated into a riality bundle scored by its program.

How those platforms score, which the translation keeps: the scoring program runs with the reference
data at /app/input/ref and the submission at /app/input/res, and writes scores.json (Codabench) or
scores.txt (CodaLab) keyed by the leaderboard's column keys; its `metadata.yaml` (or `metadata`)
gives the command. riality takes one phase per challenge for now: the one running at import time (else
the next, else the last); every other phase, and every feature riality does not honour, is named in
the import report.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from challenges.importers.report import Imported, Refused
from challenges.spec import DEFAULT_COMMAND

COMPETITION = "competition.yaml"
Unpack = Callable[[Path, Path], None]  # a zip into a folder, with the untrusted-archive checks

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


@dataclass(slots=True)
class _Phase:
    name: str
    start: datetime | None
    end: datetime | None
    raw: dict[str, Any]
    task: dict[str, Any] = field(default_factory=dict)  # scoring_program, reference_data, ...


@dataclass(slots=True)
class _Column:
    key: str
    title: str
    higher_is_better: bool
    precision: int
    hidden: bool = False


def _when(value: object, where: str, notes: list[str]) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace(" ", "T").removesuffix("Z"))
        except ValueError:
            raise Refused(
                where, f"{value!r} is not a date; expected e.g. 2026-12-01 or 2026-12-01T08:00:00"
            ) from None
    if moment.tzinfo is None:
        notes.append(f"{where}: no time zone given; taken as UTC")
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Refused(path.name, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise Refused(path.name, f"expected a mapping of fields, got {type(raw).__name__}")
    return raw


def _is_v2(raw: dict[str, Any]) -> bool:
    return str(raw.get("version", "")).strip() == "2" or isinstance(raw.get("tasks"), list)


def _v2_phases(raw: dict[str, Any], notes: list[str]) -> list[_Phase]:
    tasks = {t.get("index"): t for t in raw.get("tasks") or [] if isinstance(t, dict)}
    if not tasks:
        raise Refused(COMPETITION, "no tasks: a Codabench bundle lists its tasks (scoring program, data)")
    phases = raw.get("phases")
    if not isinstance(phases, list) or not phases:
        raise Refused(f"{COMPETITION} phases", "expected a list of phases, each with its tasks")
    found = []
    for position, phase in enumerate(sorted(phases, key=lambda p: p.get("index", 0))):
        where = f"phases[{position}]"
        indexes = phase.get("tasks") or []
        if not indexes or indexes[0] not in tasks:
            raise Refused(where, f"tasks: expected the index of a task in `tasks` (got {indexes!r})")
        if len(indexes) > 1:
            notes.append(f"{where}: {len(indexes)} tasks; riality scores the first ({indexes[0]}) only")
        name = str(phase.get("name") or f"phase {position + 1}")
        start, end = (
            _when(phase.get("start"), f"{where}.start", notes),
            _when(phase.get("end"), f"{where}.end", notes),
        )
        found.append(_Phase(name, start, end, phase, dict(tasks[indexes[0]])))
    return found


def _v15_phases(raw: dict[str, Any], notes: list[str]) -> list[_Phase]:
    phases = raw.get("phases")
    if not isinstance(phases, dict) or not phases:
        raise Refused(f"{COMPETITION} phases", "expected phases keyed by their number (CodaLab 1.5)")
    ordered = sorted(phases.values(), key=lambda p: int(p.get("phasenumber", 0)))
    found = []
    for position, phase in enumerate(ordered):
        where = f"phases.{phase.get('phasenumber', position + 1)}"
        start = _when(phase.get("start_date"), f"{where}.start_date", notes)
        task = {
            k: phase[k]
            for k in ("scoring_program", "reference_data", "input_data", "ingestion_program")
            if phase.get(k)
        }
        found.append(_Phase(str(phase.get("label") or f"phase {position + 1}"), start, None, phase, task))
    for current, following in itertools.pairwise(found):
        current.end = following.start  # a CodaLab phase ends when the next one starts
    return found


def _chosen(phases: list[_Phase], now: datetime, notes: list[str]) -> _Phase:
    """The phase running now, else the next to start, else the last."""
    running = [p for p in phases if (p.start is None or p.start <= now) and (p.end is None or now < p.end)]
    upcoming = [p for p in phases if p.start is not None and p.start > now]
    chosen = running[0] if running else upcoming[0] if upcoming else phases[-1]
    for phase in phases:
        if phase is not chosen:
            notes.append(
                f"phase {phase.name!r} not imported: riality has one phase per challenge for now "
                f"(imported: {chosen.name!r}, the {'current' if running else 'next' if upcoming else 'last'} one)"
            )
    if chosen.raw.get("auto_migrate_to_this_phase") or chosen.raw.get("auto_migration"):
        notes.append(
            f"phase {chosen.name!r}: auto-migration of the previous phase's submissions not honoured"
        )
    return chosen


def _v2_columns(raw: dict[str, Any], notes: list[str]) -> list[_Column]:
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
    for position, column in enumerate(sorted(board.get("columns") or [], key=lambda c: c.get("index", 0))):
        where = f"leaderboards[0].columns[{position}]"
        if column.get("computation"):
            notes.append(
                f"{where}: computed column {column.get('key')!r} ({column['computation']}) not imported"
            )
            continue
        columns.append(
            _Column(
                key=_key(column.get("key"), where),
                title=str(column.get("title") or column.get("key")),
                higher_is_better=str(column.get("sorting", "desc")).lower() != "asc",
                precision=int(column.get("precision", 2)),
                hidden=bool(column.get("hidden")),
            )
        )
    primary = board.get("primary_index", 0)
    if columns and isinstance(primary, int) and 0 < primary < len(columns):
        columns.insert(0, columns.pop(primary))
    return columns


def _v15_columns(raw: dict[str, Any], notes: list[str]) -> list[_Column]:
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
    for key, column in sorted(described.items(), key=lambda item: int((item[1] or {}).get("rank", 0))):
        column = column or {}
        if column.get("computed"):
            notes.append(f"leaderboard.columns.{key}: computed column not imported")
            continue
        digits = re.match(r"\d+", str(column.get("numeric_format", "4")))
        columns.append(
            _Column(
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


def _entry(root: Path, name: object, where: str, target: Path, unpack: Unpack) -> None:
    """A bundle entry that is a folder or a zip of one, copied (or unpacked) into `target`."""
    relative = Path(str(name))
    source = (root / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not source.is_relative_to(root.resolve()):
        raise Refused(where, f"{name!r} must be a path inside the bundle")
    if source.is_dir():
        shutil.copytree(source, target, symlinks=False)
    elif source.is_file() and source.suffix.lower() == ".zip":
        try:
            unpack(source, target)
        except ValueError as exc:
            raise Refused(where, f"{name}: {exc}") from None
    else:
        raise Refused(where, f"{name!r}: no such folder or zip in the bundle")
    inner = [c for c in target.iterdir() if not c.name.startswith((".", "__MACOSX"))]
    if len(inner) == 1 and inner[0].is_dir() and not (target / "metadata.yaml").exists():
        for child in inner[0].iterdir():  # zipped with its folder: that folder is the entry
            child.rename(target / child.name)
        inner[0].rmdir()


def _command(program: Path, notes: list[str]) -> str:
    for name in ("metadata.yaml", "metadata"):
        path = program / name
        if path.is_file():
            try:
                metadata = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise Refused(f"scoring_program/{name}", f"not valid YAML: {exc}") from None
            command = metadata.get("command") if isinstance(metadata, dict) else None
            if isinstance(command, str) and command.strip():
                return command.strip()
    notes.append(f"the scoring program has no metadata.yaml command; riality runs `{DEFAULT_COMMAND}`")
    return DEFAULT_COMMAND


def _description(root: Path, raw: dict[str, Any]) -> str:
    parts = [str(raw.get("description") or "")]
    pages = [(p.get("title"), p.get("file")) for p in raw.get("pages") or [] if isinstance(p, dict)]
    html = raw.get("html") if isinstance(raw.get("html"), dict) else {}
    pages += [(title.title(), name) for title, name in html.items()]
    if raw.get("terms"):
        pages.append(("Terms", raw["terms"]))
    for title, name in pages:
        path = (root / str(name)).resolve()
        if name and path.is_file() and path.is_relative_to(root.resolve()):
            parts.append(f"## {title}\n\n" + path.read_text(encoding="utf-8", errors="replace").strip())
    return "\n\n".join(p for p in parts if p).strip()


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 3 else "codabench-competition"


def _limits(phase: _Phase, notes: list[str]) -> dict[str, Any]:
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
        path = root / str(solution.get("path", ""))
        name = (
            re.sub(r"[^A-Za-z0-9 _.-]", "", str(solution.get("name") or path.stem))[:40].strip()
            or f"solution {position + 1}"
        )
        if not path.resolve().is_relative_to(root.resolve()) or not (path.is_file() or path.is_dir()):
            notes.append(f"solutions[{position}]: {solution.get('path')!r} not found; not imported")
            continue
        (out / "baselines").mkdir(exist_ok=True)
        if path.is_dir():
            shutil.make_archive(str(out / "baselines" / name), "zip", path)
        else:
            shutil.copyfile(path, out / "baselines" / f"{name}{path.suffix or '.zip'}")


def translate(root: Path, out: Path, unpack: Unpack, now: datetime | None = None) -> Imported:
    raw = _read_yaml(root / COMPETITION)
    version = (
        "Codabench (competition.yaml, version 2)" if _is_v2(raw) else "CodaLab Competitions (version 1.5)"
    )
    notes: list[str] = []
    phases = _v2_phases(raw, notes) if _is_v2(raw) else _v15_phases(raw, notes)
    phase = _chosen(phases, now or datetime.now(UTC), notes)
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
    task = phase.task
    if not task.get("scoring_program"):
        raise Refused(f"phase {phase.name!r}", "no scoring program: riality needs one to score submissions")
    if not task.get("reference_data"):
        raise Refused(f"phase {phase.name!r}", "no reference_data: the scoring program's hidden answers")
    if task.get("ingestion_program"):
        notes.append(
            "ingestion program not run: teams submit results (a zip of files) that the scoring program reads"
        )
    if task.get("input_data"):
        notes.append("input_data (for the ingestion program) not imported; public_data is served to teams")
    out.mkdir(parents=True)
    _entry(root, task["scoring_program"], "scoring_program", out / "program", unpack)
    _entry(root, task["reference_data"], "reference_data", out / "reference", unpack)
    data: dict[str, Any] = {"reference": "reference"}
    public = phase.raw.get("public_data") or task.get("public_data")
    if public:
        _entry(root, public, "public_data", out / "inputs", unpack)
        data["inputs"] = "inputs"
    kit = phase.raw.get("starting_kit")
    if kit:
        _entry(root, kit, "starting_kit", out / "starting_kit", unpack)
        shutil.make_archive(str(out / "starter"), "zip", out / "starting_kit")
        shutil.rmtree(out / "starting_kit")
        data["starter_kit"] = "starter.zip"
    hidden = [c.key for c in columns if c.hidden]
    if hidden:
        notes.append(f"hidden columns {', '.join(hidden)} are shown: riality's board has no hidden columns")
    _copy_solutions(root, raw, out, notes)
    title = str(raw.get("title") or "Imported competition")[:200]
    schedule = {k: v.isoformat() for k, v in (("opens", phase.start), ("closes", phase.end)) if v is not None}
    manifest: dict[str, Any] = {
        "slug": _slug(title),
        "title": title,
        "description": _description(root, raw),
        "kinds": ["files"],
        "program": {
            "folder": "program",
            "command": _command(out / "program", notes),
            "columns": [
                {
                    "key": c.key,
                    "label": c.title[:60],
                    "higher_is_better": c.higher_is_better,
                    "precision": min(10, c.precision),
                }
                for c in columns
            ],
        },
        "metric": columns[0].key,
        "schedule": schedule,
        "limits": _limits(phase, notes),
        "data": data,
    }
    notes.append(
        f"ranked by {columns[0].key!r} ({'higher' if columns[0].higher_is_better else 'lower'} is better)"
    )
    (out / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return Imported(version, out, notes)
