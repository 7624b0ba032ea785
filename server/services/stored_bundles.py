"""A validated bundle whose files are already in the store: what importing a challenge needs of it.

Checking a bundle reads its data (labels, features, baselines) into memory; importing it needs only
the digests and a few derived values. The check runs where its memory is bounded (a child process:
server.services.bundle_check) and hands back this light, JSON-safe description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from challenges.bundle import Bundle, FileRole
from challenges.spec import ChallengeSpec, Kind
from core.storage import BlobStore
from scoring.truth import finite_or_none
from scoring.validate import FileFormat


@dataclass(frozen=True, slots=True)
class StoredFile:
    role: FileRole
    name: str
    phase: str
    sha256: str
    size: int
    public: bool


@dataclass(frozen=True, slots=True)
class StoredBaseline:
    name: str
    filename: str
    sha256: str
    kind: Kind
    file_format: FileFormat
    phase: str
    # A prediction file's scores, computed by the check; None: a model or code one, for a worker to run.
    public_score: float | None
    private_score: float | None
    metrics: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StoredBundle:
    spec: ChallengeSpec
    files: tuple[StoredFile, ...]
    baselines: tuple[StoredBaseline, ...]
    columns: tuple[str, ...]  # the prediction file's columns (none for a scoring program's challenge)
    group_sizes: dict[str, Any]
    report: tuple[str, ...]  # an import from another platform: what it could not honour, what it assumed

    def as_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec.model_dump(mode="json"),
            "files": [asdict(f) for f in self.files],
            "baselines": [asdict(b) for b in self.baselines],
            "columns": list(self.columns),
            "group_sizes": self.group_sizes,
            "report": list(self.report),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoredBundle:
        files = tuple(StoredFile(**{**f, "role": FileRole(f["role"])}) for f in raw["files"])
        baselines = tuple(
            StoredBaseline(**{**b, "kind": Kind(b["kind"]), "file_format": FileFormat(b["file_format"])})
            for b in raw["baselines"]
        )
        return cls(
            spec=ChallengeSpec.model_validate(raw["spec"]),
            files=files,
            baselines=baselines,
            columns=tuple(raw["columns"]),
            group_sizes=raw["group_sizes"],
            report=tuple(raw["report"]),
        )


def store_bundle(bundle: Bundle, store: BlobStore) -> StoredBundle:
    """Put a validated bundle's files and baselines in the store (harmless if the import then fails:
    nothing points at them, and the sweep removes them)."""
    files = tuple(
        StoredFile(f.role, f.name, f.phase, store.put_bytes(f.data), len(f.data), f.public)
        for f in bundle.files
    )
    baselines = tuple(
        StoredBaseline(
            name=b.name,
            filename=b.filename,
            sha256=store.put_bytes(b.data),
            kind=b.kind,
            file_format=b.file_format,
            phase=b.phase,
            public_score=None if b.scores is None else finite_or_none(b.scores.public_score),
            private_score=None if b.scores is None else finite_or_none(b.scores.private_score),
            metrics=None if b.scores is None else b.scores.as_json(),
        )
        for b in bundle.baselines
    )
    truth = bundle.truth
    return StoredBundle(
        spec=bundle.spec,
        files=files,
        baselines=baselines,
        columns=tuple(bundle.spec.expectation(truth).columns) if truth is not None else (),
        group_sizes=truth.group_sizes() if truth is not None else {},
        report=bundle.report,
    )
