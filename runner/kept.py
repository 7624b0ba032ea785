"""A scored submission's validated predictions, had again after its evaluation: for the board's bootstrap
(runner.uncertainty) and the Ladder's paired test (runner.ladder). An upload is read and validated again;
what a model or code run predicted is kept as a .npy in the store."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from challenges.spec import ChallengeSpec, Kind
from core.models import Submission
from core.storage import BlobStore
from scoring.truth import GroundTruth
from scoring.validate import FileFormat, read_predictions


def predictions_bytes(values: np.ndarray) -> bytes:
    """Validated predictions as kept for the bootstrap: a .npy (numbers only, never a pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class Kept:
    """A board entry's submission: where its validated predictions can be had again."""

    id: int
    kind: str
    sha256: str  # the upload
    file_format: str
    predictions_sha256: str | None  # what a model or code run predicted (None: not kept)

    @property
    def readable(self) -> bool:
        return self.kind == Kind.PREDICTIONS or self.predictions_sha256 is not None

    def predictions(self, store: BlobStore, spec: ChallengeSpec, truth: GroundTruth) -> np.ndarray:
        """An uploaded file read and validated again (it was valid: it was scored); a run's kept array."""
        if self.predictions_sha256 is not None:
            data = store.read_bytes(self.predictions_sha256, limit=1 << 31)
            return np.load(io.BytesIO(data), allow_pickle=False)
        data = store.read_bytes(self.sha256, limit=spec.limits.upload_bytes)
        return read_predictions(data, spec.expectation(truth), FileFormat(self.file_format)).values


# What Kept is made of, in order, as a select's columns.
KEPT_COLUMNS = (
    Submission.id,
    Submission.kind,
    Submission.sha256,
    Submission.file_format,
    Submission.predictions_sha256,
)
