"""The hidden test sets a worker holds: each labels file read once per process."""

from __future__ import annotations

import hashlib
from typing import TypeVar

from challenges.spec import ChallengeSpec
from core.storage import BlobStore
from scoring.truth import GroundTruth

T = TypeVar("T")


class TruthCache:
    """Hidden test sets, kept per (labels file, spec) so each is read once per worker process: parsed
    for the built-in metrics, and as the file's bytes only for the challenges that run their own scorer."""

    def __init__(self, store: BlobStore, max_entries: int = 32) -> None:
        self.store = store
        self.max_entries = max_entries
        self._entries: dict[str, GroundTruth] = {}
        self._raw: dict[str, bytes] = {}

    def _keep(self, cache: dict[str, T], key: str, value: T) -> T:
        if len(cache) >= self.max_entries:
            cache.pop(next(iter(cache)))
        cache[key] = value
        return value

    def labels_csv(self, labels_sha256: str) -> bytes:
        data = self._raw.get(labels_sha256)
        if data is None:
            data = self._keep(self._raw, labels_sha256, self.store.read_bytes(labels_sha256, limit=1 << 31))
        return data

    def get(self, spec: ChallengeSpec, labels_sha256: str) -> GroundTruth:
        key = hashlib.sha256(f"{labels_sha256}:{spec.model_dump_json()}".encode()).hexdigest()
        truth = self._entries.get(key)
        if truth is None:
            # The bytes are kept only for a challenge's own scorer: the others need the parsed set alone.
            if spec.scorer is not None:
                data = self.labels_csv(labels_sha256)
            else:
                data = self.store.read_bytes(labels_sha256, limit=1 << 31)
            truth = self._keep(
                self._entries,
                key,
                spec.read_truth(data),
            )
        return truth
