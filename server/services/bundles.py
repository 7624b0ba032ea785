"""Challenge bundles as zips: unpacked safely and checked whole on the way in, rebuilt on the way out."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from challenges.bundle import (
    BASELINES,
    FOLDER_ROLES,
    MANIFEST,
    FileRole,
    validation_problems,
)
from challenges.spec import ChallengeSpec
from core.archive import ArchiveError, ArchiveLimits, extract_archive
from core.models import Baseline, ChallengeFile
from core.storage import BlobStore
from server.errors import ProblemAt, Unprocessable

MAX_BUNDLE_BYTES = 1024 * 2**20  # the zip as uploaded
BUNDLE_LIMITS = ArchiveLimits(max_entries=500, max_total_bytes=1024 * 2**20, max_entry_bytes=512 * 2**20)


def invalid(detail: str, problems: list[ProblemAt]) -> Unprocessable:
    return Unprocessable(
        f"{detail} ({len(problems)} problem(s)): "
        + "; ".join(f"{p.path}: {p.message}" for p in problems[:5]),
        problems,
    )


def unpack_nested(archive: Path, target: Path) -> None:
    """A zip inside a foreign bundle (a Codabench program or data set), under the bundle's own limits."""
    try:
        extract_archive(archive, target, BUNDLE_LIMITS)
    except ArchiveError as exc:
        raise ValueError(str(exc)) from None


def check_spec(raw: dict[str, object]) -> ChallengeSpec:
    """An edited spec, validated as challenge.yaml is, every problem with its field path."""
    try:
        return ChallengeSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [ProblemAt(p.path, p.message) for p in validation_problems(exc)]
        raise invalid("invalid change", problems) from None


def bundle_zip(
    spec: ChallengeSpec, files: list[ChallengeFile], store: BlobStore, baselines: Sequence[Baseline] = ()
) -> bytes:
    """The challenge as a bundle zip that `POST /api/challenges` or `riality challenge load` takes back."""
    by_role = {(f.phase, f.role): f for f in files}
    written: set[str] = set()  # phases that share a file name it once
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = spec.model_dump(mode="json", exclude_none=True)
        archive.writestr(MANIFEST, yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
        for phase in spec.phase_keys:
            for role, relative in _paths(spec.phase_spec(phase)).items():
                row = by_role.get((phase, role.value))
                if row is None or relative in written:
                    continue
                written.add(relative)
                if role in FOLDER_ROLES:  # stored as one zip (challenges.folders): back to a folder
                    with zipfile.ZipFile(store.path(row.sha256)) as folder:
                        for entry in folder.infolist():
                            archive.writestr(f"{relative.rstrip('/')}/{entry.filename}", folder.read(entry))
                else:
                    archive.write(store.path(row.sha256), relative)
        for filename, sha256 in sorted({(b.filename, b.sha256) for b in baselines}):
            archive.write(store.path(sha256), f"{BASELINES}/{filename}")
    return buffer.getvalue()


def _paths(spec: ChallengeSpec) -> dict[FileRole, str]:
    """Where each file of a challenge of one phase stands in its bundle."""
    paths = {FileRole(role): relative for role, relative in spec.data.model_dump().items() if relative}
    if spec.scorer:
        paths[FileRole.SCORER] = spec.scorer
    if spec.program:
        paths[FileRole.PROGRAM] = spec.program.folder
        if spec.program.ingestion:
            paths[FileRole.INGESTION] = spec.program.ingestion.folder
    return paths
