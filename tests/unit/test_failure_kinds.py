"""Which failures use up a team's quota: only the participant's code that ran and failed."""

from __future__ import annotations

import pytest

from core.models import FailureKind

USES_QUOTA = {
    FailureKind.TIMEOUT: True,
    FailureKind.OUT_OF_MEMORY: True,
    FailureKind.CRASHED: True,
    FailureKind.INVALID_OUTPUT: True,
    FailureKind.INVALID_PREDICTIONS: False,  # a file that fails validation (or is too large) is free
    FailureKind.REJECTED_ARCHIVE: False,  # nothing ran
    FailureKind.SCORER_FAILED: False,  # the organisers' fault
    FailureKind.INTERNAL: False,  # ours
    FailureKind.VERSION_MISMATCH: False,  # nothing of the team's ran; they save it again
}


@pytest.mark.parametrize(("failure", "expected"), USES_QUOTA.items(), ids=[f.value for f in USES_QUOTA])
def test_failure_uses_quota(failure: FailureKind, expected: bool) -> None:
    assert failure.uses_quota is expected


def test_every_failure_kind_is_decided() -> None:
    assert set(USES_QUOTA) == set(FailureKind)
