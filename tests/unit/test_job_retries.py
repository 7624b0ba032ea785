"""How long a job waits before trying again after a failure on our side, and when it gives up."""

from __future__ import annotations

from runner.budgets import ARQ_MAX_TRIES, JOB_TRIES
from runner.environments import EnvironmentNotReady
from runner.jobs import _gave_up, _retry_delay


def test_our_own_failures_are_retried_soon_then_given_up() -> None:
    assert [_retry_delay(OSError("disk"), t) for t in range(1, JOB_TRIES + 1)] == [2, 4, 6, 8, None]


def test_an_environment_being_built_is_waited_for_longer_within_arqs_cap() -> None:
    waits = [_retry_delay(EnvironmentNotReady("building"), t) for t in range(1, ARQ_MAX_TRIES + 1)]
    assert waits[: ARQ_MAX_TRIES - 2] == [60] * (ARQ_MAX_TRIES - 2)
    assert waits[ARQ_MAX_TRIES - 2 :] == [None, None]  # our policy decides before arq drops the job
    assert "environment was not ready in time to rescore" in _gave_up(EnvironmentNotReady("x"), "rescore")
