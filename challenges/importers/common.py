"""What the importers of phased, program-scored platforms share: dates, the phase to import, the
folders or zips a bundle names, the slug."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from challenges.importers.report import Refused

Unpack = Callable[[Path, Path], None]  # a zip into a folder, with the untrusted-archive checks


@dataclass(slots=True)
class Phase:
    """One phase of the source: its name, dates, raw fields and what it is scored with."""

    name: str
    start: datetime | None
    end: datetime | None
    raw: dict[str, Any]
    task: dict[str, Any] = field(default_factory=dict)  # scoring_program, reference_data, ...


def when(value: object, where: str, notes: list[str]) -> datetime | None:
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


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Refused(path.name, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise Refused(path.name, f"expected a mapping of fields, got {type(raw).__name__}")
    return raw


def chosen(phases: list[Phase], now: datetime, notes: list[str]) -> Phase:
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


def inside(root: Path, name: object) -> Path | None:
    """What a foreign manifest names, resolved, if it stays inside the bundle (None: it leads out)."""
    relative = Path(str(name))
    source = (root / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not source.is_relative_to(root.resolve()):
        return None
    return source


def page(root: Path, name: object, title: str) -> str:
    """A page file of the bundle as a section of the description ("" if absent or outside the bundle)."""
    path = inside(root, name) if name else None
    if path is None or not path.is_file():
        return ""
    return f"## {title}\n\n" + path.read_text(encoding="utf-8", errors="replace").strip()


def entry(root: Path, name: object, where: str, target: Path, unpack: Unpack) -> None:
    """A bundle entry that is a folder or a zip of one, copied (or unpacked) into `target`."""
    source = inside(root, name)
    if source is None:
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


def slug(title: str, fallback: str) -> str:
    made = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")
    return made if len(made) >= 3 else fallback


@dataclass(slots=True)
class Column:
    """A board column of the source's leaderboard."""

    key: str
    title: str
    higher_is_better: bool
    precision: int
    hidden: bool = False


def write_manifest(
    out: Path,
    *,
    title: str,
    slug_fallback: str,
    description: str,
    command: str,
    columns: list[Column],
    phase: Phase,
    limits: dict[str, Any],
    data: dict[str, Any],
    notes: list[str],
    ingestion: dict[str, str] | None = None,
    code: bool = False,
) -> None:
    """challenge.yaml for a challenge scored by the program in `out/program`, ranked by the first column;
    with `code`, teams may also send code, run by the `ingestion` program."""
    hidden = [c.key for c in columns if c.hidden]
    if hidden:
        notes.append(f"hidden columns {', '.join(hidden)} are shown: riality's board has no hidden columns")
    schedule = {k: v.isoformat() for k, v in (("opens", phase.start), ("closes", phase.end)) if v is not None}
    manifest: dict[str, Any] = {
        "slug": slug(title, slug_fallback),
        "title": title,
        "description": description,
        "kinds": ["files", "code"] if code else ["files"],
        "program": {
            "folder": "program",
            "command": command,
            "columns": [
                {
                    "key": c.key,
                    "label": c.title[:60],
                    "higher_is_better": c.higher_is_better,
                    "precision": min(10, c.precision),
                }
                for c in columns
            ],
            **({"ingestion": ingestion} if ingestion else {}),
        },
        "metric": columns[0].key,
        "schedule": schedule,
        "limits": limits,
        "data": data,
    }
    notes.append(
        f"ranked by {columns[0].key!r} ({'higher' if columns[0].higher_is_better else 'lower'} is better)"
    )
    (out / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
