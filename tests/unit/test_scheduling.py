"""The lanes and the fair order of jobs in them (core.scheduling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from challenges.spec import ChallengeSpec
from core.queue import job_id, job_submission
from core.scheduling import GPU_LANE, PREDICTIONS_LANE, SANDBOX_LANE, fair_score, lane

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def spec(**changes: object) -> ChallengeSpec:
    base = {
        "slug": "gaze-lab",
        "title": "S",
        "metric": "accuracy",
        "kinds": ["predictions", "model", "code"],
        "target_column": "y",
        "data": {"test_features": "f.csv", "test_labels": "l.csv"},
    }
    return ChallengeSpec.model_validate(base | changes)


@pytest.mark.parametrize(
    ("changes", "kind", "expected"),
    [
        ({}, "predictions", PREDICTIONS_LANE),
        ({}, "model", SANDBOX_LANE),
        ({}, "code", SANDBOX_LANE),
        ({"limits": {"gpus": 1}}, "code", GPU_LANE),
        ({"limits": {"gpus": 1}}, "predictions", PREDICTIONS_LANE),
    ],
    ids=["file", "model", "code", "gpu-code", "gpu-challenge-file"],
)
def test_each_kind_goes_to_its_lane(changes: dict[str, object], kind: str, expected: str) -> None:
    assert lane(spec(**changes), kind) == expected


def test_a_teams_flood_takes_turns_with_a_later_team() -> None:
    flood = [("ada", fair_score(T0 + timedelta(milliseconds=i), i)) for i in range(200)]
    later = ("bob", fair_score(T0 + timedelta(minutes=30), 0))
    order = [team for team, _ in sorted([*flood, later], key=lambda job: job[1])]
    assert order.index("bob") == 1  # after ada's first, before her second


def test_within_a_round_jobs_keep_their_arrival_order() -> None:
    assert fair_score(T0, 3) < fair_score(T0 + timedelta(hours=1), 3) < fair_score(T0, 4)


def test_every_job_is_due_when_it_arrives() -> None:
    now_ms = T0.timestamp() * 1000
    assert fair_score(T0, 0) < now_ms and fair_score(T0, 100_000) < now_ms


def test_job_ids_name_their_submission() -> None:
    assert job_submission(job_id(42, "w1")) == 42 and job_submission(b"evaluate:7:0") == 7
    assert job_submission("rescore:1:2") is None and job_submission("environment:3:x") is None
