"""Model and code baselines: a bundle's `baselines/` may hold a model or code; a worker runs each in
the sandbox after the bundle loads, as it would a team's, and the boards show it once scored. A run
that fails is marked failed, with why, to the challenge's staff only."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from challenges.bundle import load_bundle
from core.settings import Settings
from scoring.validate import FileFormat, read_predictions
from tests.helpers import drain_queue, login
from tests.integration.test_lifecycle import bundle_zip, create, organiser
from tests.integration.test_model_and_code import (
    PREDICT_RULE,
    SLUG,
    TUMOUR,
    rule_predictions,
    trained,
    zip_bytes,
)

__all__ = ["trained"]  # the fixture: a model fitted inside the runtime image


def _expected(data: bytes) -> tuple[float, float]:
    """What the built-in metric gives a prediction file, computed from the bundle as the test sees it."""
    bundle = load_bundle(TUMOUR)
    spec, truth = bundle.spec, bundle.truth
    scores = spec.score(truth, read_predictions(data, spec.expectation(truth), FileFormat.CSV).values)
    return scores.public_score, scores.private_score


def with_run_baselines(tmp_path: Path, model: bytes) -> Path:
    folder = tmp_path / "bundle"
    shutil.copytree(TUMOUR, folder)
    (folder / "baselines" / "radius rule.zip").write_bytes(zip_bytes({"predict.py": PREDICT_RULE}))
    (folder / "baselines" / "logistic regression.joblib").write_bytes(model)
    crash = "def predict(features):\n    raise RuntimeError('the baseline broke on purpose')\n"
    (folder / "baselines" / "broken.zip").write_bytes(zip_bytes({"predict.py": crash}))
    return folder


@pytest.mark.timeout(600)
async def test_model_and_code_baselines_run_in_the_sandbox_and_join_the_boards(
    settings: Settings, client: AsyncTestClient, tmp_path: Path, trained: tuple[bytes, bytes]
) -> None:
    model, model_predictions = trained
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle_zip(with_run_baselines(tmp_path, model)))
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)).status_code == 200
    before = (await client.get(f"/api/challenges/{SLUG}", headers=olga)).json()["baselines"]
    assert {b["name"]: b["state"] for b in before} == {
        "one-feature logistic regression": "scored",  # the example's prediction file: scored at load
        "radius rule": "queued",
        "logistic regression": "queued",
        "broken": "queued",
    }
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert [b["name"] for b in board["baselines"]] == ["one-feature logistic regression"]

    await drain_queue(settings)  # a worker with Docker runs each in its own container

    states = {
        b["name"]: b for b in (await client.get(f"/api/challenges/{SLUG}", headers=olga)).json()["baselines"]
    }
    assert {name: b["state"] for name, b in states.items()} == {
        "one-feature logistic regression": "scored",
        "radius rule": "scored",
        "logistic regression": "scored",
        "broken": "failed",
    }
    assert "the baseline broke on purpose" in states["broken"]["error"]  # its logs, for the organisers
    ada = await login(client, "ada")
    public_view = (await client.get(f"/api/challenges/{SLUG}", headers=ada)).json()
    assert {b["name"]: b["error"] for b in public_view["baselines"]}["broken"] is None

    scores = {
        b["name"]: b["score"]
        for b in (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["baselines"]
    }
    assert set(scores) == {"one-feature logistic regression", "radius rule", "logistic regression"}
    assert scores["radius rule"] == pytest.approx(_expected(rule_predictions())[0], abs=1e-9)
    assert scores["logistic regression"] == pytest.approx(_expected(model_predictions)[0], abs=1e-6)
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["teams"] == 0 and board["entries"] == []  # baselines are never teams

    # The bundle download gives the organisers their baselines back, byte for byte.
    archive = zipfile.ZipFile(
        io.BytesIO((await client.get(f"/api/challenges/{SLUG}/bundle", headers=olga)).content)
    )
    assert archive.read("baselines/logistic regression.joblib") == model

    # The organisers run them again (after a failure, or a new environment); a participant cannot.
    rerun = f"/api/challenges/{SLUG}/baselines/rerun"
    assert (await client.post(rerun, headers=ada)).status_code == 404
    queued = await client.post(rerun, headers=olga)
    assert queued.status_code == 202, queued.text
    assert {b["name"]: b["state"] for b in queued.json() if b["kind"] != "predictions"} == {
        "radius rule": "queued",
        "logistic regression": "queued",
        "broken": "queued",
    }
    assert (await client.post(rerun, headers=olga)).status_code == 409  # all queued already
    await drain_queue(settings)
    again = (await client.get(f"/api/challenges/{SLUG}", headers=olga)).json()["baselines"]
    assert {b["name"]: b["state"] for b in again}["broken"] == "failed"
    assert {b["name"]: b["state"] for b in again}["radius rule"] == "scored"
