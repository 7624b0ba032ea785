"""The hidden test sets a worker holds: each labels file read once per process."""

from __future__ import annotations

import hashlib

from challenges.spec import ChallengeSpec
from core.storage import BlobStore
from scoring.truth import GroundTruth, load_truth


class TruthCache:
    """Hidden test sets, kept per (labels file, spec) so each is read once per worker process: parsed
    for the built-in metrics, and as the file's bytes for a challenge's own scorer."""

    def __init__(self, store: BlobStore, max_entries: int = 32) -> None:
        self.store = store
        self.max_entries = max_entries
        self._entries: dict[str, GroundTruth] = {}
        self._raw: dict[str, bytes] = {}

    def labels_csv(self, labels_sha256: str) -> bytes:
        data = self._raw.get(labels_sha256)
        if data is None:
            data = self.store.read_bytes(labels_sha256, limit=1 << 31)
            if len(self._raw) >= self.max_entries:
                self._raw.pop(next(iter(self._raw)))
            self._raw[labels_sha256] = data
        return data

    def get(self, spec: ChallengeSpec, labels_sha256: str) -> GroundTruth:
        key = hashlib.sha256(f"{labels_sha256}:{spec.model_dump_json()}".encode()).hexdigest()
        truth = self._entries.get(key)
        if truth is None:
            data = self.labels_csv(labels_sha256)
            truth = load_truth(
                data,
                id_column=spec.id_column,
                target_column=spec.target_column,
                task=spec.task,
                fraction=spec.public_fraction,
                seed=spec.seed,
            )
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = truth
        return truth
