"""Phases in challenge.yaml: each phase runs the challenge with its own fields in place; phases follow
one another; the challenge's schedule is theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from challenges.spec import ONE_PHASE, ChallengeSpec


def manifest(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "slug": "two-phases",
        "title": "Two phases",
        "metric": "accuracy",
        "target_column": "y",
        "data": {"test_features": "test.csv", "test_labels": "labels.csv"},
        "schedule": {"reveal": "2026-12-20T00:00:00Z"},
        "phases": [
            {
                "key": "dev",
                "title": "Development",
                "schedule": {"opens": "2026-12-01T00:00:00Z", "closes": "2026-12-10T00:00:00Z"},
            },
            {
                "key": "final",
                "title": "Final",
                "migrate": True,
                "schedule": {"opens": "2026-12-10T00:00:00Z", "closes": "2026-12-12T00:00:00Z"},
                "limits": {"per_day": 1},
                "data": {"test_labels": "final_labels.csv"},
                "metric": "balanced_accuracy",
            },
        ],
    }
    raw.update(changes)
    return raw


def test_each_phase_runs_the_challenge_with_its_own_fields() -> None:
    spec = ChallengeSpec.model_validate(manifest())
    final = spec.phase_spec("final")
    assert (final.limits.per_day, final.limits.total) == (1, 100)  # the rest of `limits` is the challenge's
    assert (final.data.test_labels, final.data.test_features) == ("final_labels.csv", "test.csv")
    assert final.metric == "balanced_accuracy" and spec.phase_spec("dev").metric == "accuracy"
    assert final.schedule.opens == datetime(2026, 12, 10, tzinfo=UTC) and final.schedule.reveal is not None
    # The challenge runs from the first phase's opening to the last one's close.
    assert (spec.schedule.opens, spec.schedule.closes) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 12, tzinfo=UTC),
    )
    assert ChallengeSpec.model_validate_json(spec.model_dump_json()) == spec  # stored and read back


def test_the_current_phase_is_the_last_one_opened() -> None:
    spec = ChallengeSpec.model_validate(manifest())
    assert spec.phase_at(datetime(2026, 11, 1, tzinfo=UTC)) == "dev"  # none open yet: the first
    assert spec.phase_at(datetime(2026, 12, 9, tzinfo=UTC)) == "dev"
    assert spec.phase_at(datetime(2026, 12, 11, tzinfo=UTC)) == "final"
    assert spec.phase_before("final") == "dev" and spec.phase_before("dev") is None


def test_a_challenge_without_phases_is_one() -> None:
    raw = manifest(schedule={})
    raw.pop("phases")
    spec = ChallengeSpec.model_validate(raw)
    assert spec.phase_keys == [ONE_PHASE] and spec.phase_spec(ONE_PHASE) is spec


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["phases"][1]["schedule"].update(opens="2026-12-09T00:00:00Z"), "phases may not overlap"),
        (lambda r: r["schedule"].update(opens="2026-11-01T00:00:00Z"), "each phase has its own schedule"),
        (lambda r: r["phases"][0].update(migrate=True), "nothing to migrate"),
        (lambda r: r["phases"][1].update(key="dev"), "each key once"),
        (lambda r: r["phases"][1].update(limits={"per_day": 0}), "'final': limits.per_day"),
        (lambda r: r["phases"][1].update(metric="nonsense"), "'final': metric"),
        (lambda r: r["phases"][0]["schedule"].pop("closes"), "'dev' needs schedule.closes"),
        (lambda r: r["phases"][1].update(limits={"team_size": 9}), "a team lasts through every phase"),
    ],
)
def test_phases_that_cannot_run_are_refused_with_where(change: Any, expected: str) -> None:
    raw = manifest()
    change(raw)
    with pytest.raises(ValidationError) as caught:
        ChallengeSpec.model_validate(raw)
    assert expected in str(caught.value)
