"""What the importers of phased, program-scored platforms share: dates, the phase to import, the
folders or zips a bundle names, the slug."""

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
    except RecursionError:  # lists or mappings nested thousands deep: no manifest is
        raise Refused(path.name, "nested too deeply to be a manifest") from None
    if not isinstance(raw, dict):
        raise Refused(path.name, f"expected a mapping of fields, got {type(raw).__name__}")
    return raw


def mappings(value: object, where: str, what: str) -> list[dict[str, Any]]:
    """A list of mappings a foreign manifest gives (its phases, tasks, columns), or Refused saying so."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Refused(where, f"expected a list of {what}, each a mapping of fields (got {shown(value)})")
    return value


def whole_number(value: object, where: str, default: int = 0) -> int:
    """An index or a number a foreign manifest gives (absent: `default`), or Refused saying so."""
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).strip().lstrip("-").isdigit()
    ):
        raise Refused(where, f"expected a whole number (got {shown(value)})")
    return int(value)


def shown(value: object) -> str:
    """A value as a report quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def sequence(phases: list[Phase], notes: list[str]) -> list[Phase]:
    """The source's phases as riality runs them, one after the other: a phase with no end ends when the
    next starts, and one that overlaps the next is cut short there (said in the report)."""
    for current, following in itertools.pairwise(phases):
        if following.start is None:
            raise Refused(
                f"phase {following.name!r}", "no start date: each phase after the first starts at a date"
            )
        if current.end is not None and current.end > following.start:
            notes.append(
                f"phase {current.name!r} ends after {following.name!r} starts; here it ends when that one "
                "starts (riality's phases follow one another)"
            )
        if current.end is None or current.end > following.start:
            current.end = following.start
        if current.start is not None and current.end <= current.start:
            raise Refused(
                f"phase {current.name!r}",
                f"starts at or after the start of {following.name!r}, the next phase",
            )
    if migrates(phases[0]):
        notes.append(f"phase {phases[0].name!r}: auto-migration into the first phase: nothing to migrate")
    return phases


def migrates(phase: Phase) -> bool:
    """CodaLab's and Codabench's auto-migration into this phase."""
    return bool(phase.raw.get("auto_migrate_to_this_phase") or phase.raw.get("auto_migration"))


def phase_keys(phases: list[Phase]) -> list[str]:
    """A key for each phase, from its name: lower-case letters, digits and dashes, each once."""
    keys: list[str] = []
    for position, phase in enumerate(phases, start=1):
        made = (
            re.sub(r"[^a-z0-9]+", "-", phase.name.lower()).strip("-")[:36].strip("-") or f"phase-{position}"
        )
        key, n = made, 2
        while key in keys:
            key, n = f"{made}-{n}", n + 1
        keys.append(key)
    return keys


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


class Entries:
    """The source's folders and zips, each copied once into the translated bundle (its phases often
    share a scoring program or data)."""

    def __init__(self, root: Path, out: Path, unpack: Unpack) -> None:
        self.root, self.out, self.unpack = root, out, unpack
        self._copied: dict[tuple[str, str], str] = {}

    def folder(self, name: object, field: str, base: str) -> str:
        """Where the entry `name` (of the source's `field`) is, in the translated bundle: `base`, or
        `base-2`… when phases use different ones."""
        key = (base, str(name))
        if key not in self._copied:
            used = sum(1 for b, _ in self._copied if b == base)
            target = base if used == 0 else f"{base}-{used + 1}"
            entry(self.root, name, field, self.out / target, self.unpack)
            self._copied[key] = target
        return self._copied[key]

    def zipped(self, name: object, field: str, base: str) -> str:
        """The entry as one zip file in the translated bundle (a starting kit)."""
        key = (f"{base}.zip", str(name))
        if key not in self._copied:
            folder = self.folder(name, field, f".{base}")
            archive = shutil.make_archive(str(self.out / folder.lstrip(".")), "zip", self.out / folder)
            shutil.rmtree(self.out / folder)
            self._copied[key] = Path(archive).name
        return self._copied[key]


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


@dataclass(slots=True)
class PhasePlan:
    """One phase of the translated challenge: its source, and how and on what it is scored."""

    source: Phase
    command: str
    columns: list[Column]
    limits: dict[str, Any]
    data: dict[str, Any]
    ingestion: dict[str, str] | None = None
    code: bool = False  # teams may also send code, run by the ingestion program
    folder: str = "program"  # the scoring program's, in the translated bundle

    def program(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "command": self.command,
            "columns": [
                {
                    "key": c.key,
                    "label": c.title[:60],
                    "higher_is_better": c.higher_is_better,
                    "precision": min(10, c.precision),
                }
                for c in self.columns
            ],
            **({"ingestion": self.ingestion} if self.ingestion else {}),
        }

    def schedule(self) -> dict[str, str]:
        moments = (("opens", self.source.start), ("closes", self.source.end))
        return {k: v.isoformat() for k, v in moments if v is not None}


def write_manifest(
    out: Path, *, title: str, slug_fallback: str, description: str, plans: list[PhasePlan], notes: list[str]
) -> None:
    """challenge.yaml for a challenge scored by programs, each phase ranked by its first column: one
    phase as a challenge without phases, more as riality's phases."""
    hidden = sorted({c.key for plan in plans for c in plan.columns if c.hidden})
    if hidden:
        notes.append(f"hidden columns {', '.join(hidden)} are shown: riality's board has no hidden columns")
    first = plans[0]
    programs = [plan.program() for plan in plans]
    manifest: dict[str, Any] = {
        "slug": slug(title, slug_fallback),
        "title": title,
        "description": description,
        "kinds": _kinds(first),
        "program": programs[0],
        "metric": first.columns[0].key,
    }
    if len(plans) == 1:
        manifest |= {"schedule": first.schedule(), "limits": first.limits, "data": first.data}
    else:  # each phase says all it runs with: nothing of one phase leaks into the next
        manifest["data"] = {}
        manifest["phases"] = [
            {
                "key": key,
                "title": plan.source.name[:80],
                "schedule": plan.schedule(),
                "migrate": migrates(plan.source) and position > 0,
                "kinds": _kinds(plan),
                "limits": plan.limits,
                "program": program,
                "metric": plan.columns[0].key,
                "data": plan.data,
            }
            for position, (key, plan, program) in enumerate(
                zip(phase_keys([p.source for p in plans]), plans, programs, strict=True)
            )
        ]
    for plan in plans:
        column = plan.columns[0]
        where = f"phase {plan.source.name!r}: " if len(plans) > 1 else ""
        notes.append(
            f"{where}ranked by {column.key!r} ({'higher' if column.higher_is_better else 'lower'} is better)"
        )
    (out / "challenge.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))


def _kinds(plan: PhasePlan) -> list[str]:
    return ["files", "code"] if plan.code else ["files"]
