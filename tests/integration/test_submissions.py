"""Prediction-file submissions end to end: upload, the real worker process, scores, boards and quotas."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from litestar.testing import AsyncTestClient
from sklearn.metrics import roc_auc_score

from core.settings import Settings
from core.storage import BlobStore
from scoring.split import public_mask
from tests.conftest import EXAMPLES
from tests.conftest import worker_process as worker_process_of
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, upload, wait_for_status

TUMOUR = EXAMPLES / "tumour-detection"
SLUG = "tumour-detection"


@pytest.fixture
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The real worker: `riality worker` in its own process, as deployed."""
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        env={**os.environ, **settings.to_env()},
        stdout=log,
        stderr=log,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def tumour_predictions() -> tuple[pd.DataFrame, float]:
    """A deterministic, imperfect predictor and its public ROC AUC computed independently with scikit-learn."""
    test = pd.read_csv(TUMOUR / "data" / "test.csv", dtype={"id": str})
    labels = pd.read_csv(TUMOUR / "hidden" / "labels.csv", dtype={"id": str})
    radius = test["worst_radius"].to_numpy()
    proba = (radius - radius.min()) / (radius.max() - radius.min())
    predictions = pd.DataFrame({"id": test["id"], "diagnosis": proba.round(6)})
    merged = labels.merge(predictions, on="id", suffixes=("_true", ""))
    public = public_mask(list(labels["id"]), 0.3, SLUG)
    truth = merged.set_index("id").loc[labels["id"][public]]
    return predictions, roc_auc_score(truth["diagnosis_true"], truth["diagnosis"])


async def test_upload_is_scored_by_the_worker_process_and_ranked(
    settings: Settings, client: AsyncTestClient, worker_process: subprocess.Popen[bytes]
) -> None:
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    predictions, expected = tumour_predictions()
    response = await upload(client, headers, SLUG, csv_bytes(predictions), note="radius baseline")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["team"], body["note"]) == ("queued", "ada", "radius baseline")
    done = await wait_for_status(client, headers, body["id"], {"scored", "failed"})
    assert done["status"] == "scored", done
    assert done["public_score"] == pytest.approx(expected, abs=1e-12)
    assert set(done["metrics"]["public"]) == {"roc_auc", "accuracy", "f1"}
    assert done["private_score"] is None and "private" not in done["metrics"]
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["metric"] == "roc_auc" and board["higher_is_better"] is True
    (entry,) = board["entries"]
    assert (entry["rank"], entry["team"], entry["submissions"]) == (1, "ada", 1)
    assert entry["score"] == pytest.approx(expected, abs=1e-12)


async def test_invalid_file_fails_with_its_message_and_does_not_use_the_quota(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    bundle = _with(tmp_path, limits={"per_day": 1, "total": 5})
    await load_challenge(settings, bundle)
    headers = await login(client, "ada")
    bad = await upload(client, headers, SLUG, b"id,diagnosis\nnot-an-id,0.5\n")
    assert bad.status_code == 202
    await drain_queue(settings)
    failed = (await client.get(f"/api/submissions/{bad.json()['id']}", headers=headers)).json()
    assert failed["status"] == "failed"
    assert failed["error"] == "line 2: unknown 'id' 'not-an-id': not an id of the test set"
    good = await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))
    assert good.status_code == 202, "a failed validation must not count against the daily quota of 1"
    await drain_queue(settings)
    listing = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=headers)).json()
    assert [s["status"] for s in listing] == ["scored", "failed"]


async def test_unusable_files_have_a_daily_bound_of_their_own_and_their_bytes_are_dropped(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """Each invalid file is free of the scored quota, but a team may send only `invalid_per_day` of
    them a day; once checked, its bytes leave the store (its error stays; its download says 410)."""
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 2, "invalid_per_day": 3}))
    headers = await login(client, "ada")
    detail = (await client.get(f"/api/challenges/{SLUG}", headers=headers)).json()
    assert (detail["limits"]["per_day"], detail["limits"]["invalid_per_day"]) == (2, 3)
    store = BlobStore(settings.blobs_dir)
    refused = []
    for n in range(3):
        data = f"id,diagnosis\nnot-an-id-{n},0.5\n".encode()
        sent = await upload(client, headers, SLUG, data)
        assert sent.status_code == 202, sent.text
        await drain_queue(settings)
        refused.append({**sent.json(), "sha256": hashlib.sha256(data).hexdigest()})
    for sent in refused:
        seen = (await client.get(f"/api/submissions/{sent['id']}", headers=headers)).json()
        assert (seen["status"], seen["failure"]) == ("failed", "invalid_predictions")
        assert not store.path(sent["sha256"]).exists()
        download = await client.get(f"/api/submissions/{sent['id']}/file", headers=headers)
        assert download.status_code == 410
        assert "not kept" in download.json()["detail"] and "unknown 'id'" in download.json()["detail"]
    over = await upload(client, headers, SLUG, b"id,diagnosis\nanother,0.5\n")
    assert over.status_code == 429
    assert "3 files today that could not be used (at most 3 a day" in over.json()["detail"]
    assert over.json()["resets_at"].endswith("T00:00:00+00:00")
    listing = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=headers)).json()
    assert len(listing) == 3  # nothing written for the refused upload


async def test_an_invalid_file_that_another_submission_still_needs_keeps_its_bytes(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """The store is content-addressed: the same bytes sent again (queued) or a challenge's own file
    sent by mistake are still needed when the first copy is refused."""
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 5}))
    headers = await login(client, "ada")
    features = (TUMOUR / "data" / "test.csv").read_bytes()  # the challenge's own file, sent as predictions
    first = (await upload(client, headers, SLUG, features)).json()
    again = (await upload(client, headers, SLUG, b"id,diagnosis\nx,1\n")).json()
    queued = (await upload(client, headers, SLUG, b"id,diagnosis\nx,1\n")).json()
    await drain_queue(settings)
    seen = (await client.get(f"/api/submissions/{first['id']}", headers=headers)).json()
    assert seen["failure"] == "invalid_predictions"
    store = BlobStore(settings.blobs_dir)
    assert store.path(hashlib.sha256(features).hexdigest()).is_file()
    for sent in (again, queued):  # the second was still queued when the first was refused: it was read
        seen = (await client.get(f"/api/submissions/{sent['id']}", headers=headers)).json()
        assert (seen["failure"], seen["error"]) == (
            "invalid_predictions",
            "line 2: unknown 'id' 'x': not an id of the test set",
        )
    assert not store.path(hashlib.sha256(b"id,diagnosis\nx,1\n").hexdigest()).exists()
    assert (await client.get(f"/api/challenges/{SLUG}/files/test.csv")).content == features


def _with(tmp_path: Path, **changes: object) -> Path:
    folder = tmp_path / "bundle"
    shutil.copytree(TUMOUR, folder, dirs_exist_ok=True)
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            manifest.setdefault(key, {}).update(value)
        else:
            manifest[key] = value
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return folder


async def test_quota_race_accepts_exactly_the_quota(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 5, "total": 100}))
    headers = await login(client, "ada")
    await client.post(f"/api/challenges/{SLUG}/teams", json={"name": "racers"}, headers=headers)
    data = csv_bytes(tumour_predictions()[0])
    responses = await asyncio.gather(*(upload(client, headers, SLUG, data) for _ in range(50)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(202) == 5 and codes.count(429) == 45, codes
    refused = next(r for r in responses if r.status_code == 429)
    assert "used its 5 submissions for today (UTC)" in refused.json()["detail"]
    assert refused.json()["resets_at"].endswith("T00:00:00+00:00")
    assert int(refused.headers["retry-after"]) > 0
    listing = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=headers)).json()
    assert len(listing) == 5


async def test_total_quota(settings: Settings, client: AsyncTestClient, tmp_path: Path) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 10, "total": 2}))
    headers = await login(client, "ada")
    data = csv_bytes(tumour_predictions()[0])
    assert [(await upload(client, headers, SLUG, data)).status_code for _ in range(3)] == [202, 202, 429]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            {"opens": "2099-01-01T00:00:00Z", "closes": "2099-02-01T00:00:00Z"},
            "opens for submissions at 2099-01-01T00:00:00+00:00",
        ),
        (
            {"opens": "2020-01-01T00:00:00Z", "closes": "2020-02-01T00:00:00Z"},
            "closed for submissions at 2020-02-01T00:00:00+00:00",
        ),
    ],
    ids=["upcoming", "closed"],
)
async def test_outside_the_schedule_is_refused_with_the_time(
    settings: Settings, client: AsyncTestClient, tmp_path: Path, schedule: dict[str, str], message: str
) -> None:
    await load_challenge(settings, _with(tmp_path, schedule=schedule))
    headers = await login(client, "ada")
    response = await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))
    assert response.status_code == 403
    assert message in response.json()["detail"]


async def test_upload_refusals(settings: Settings, client: AsyncTestClient, tmp_path: Path) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"upload_mb": 0.01}, kinds=["predictions"]))
    headers = await login(client, "ada")
    big = await upload(client, headers, SLUG, b"id,diagnosis\n" + b"x" * 20_000)
    assert big.status_code == 413 and "larger than the limit of 10,485 bytes" in big.json()["detail"]
    text = await upload(client, headers, SLUG, b"hello", filename="notes.txt")
    assert text.status_code == 400 and "cannot tell the kind of 'notes.txt'" in text.json()["detail"]
    model = await upload(client, headers, SLUG, b"x", filename="model.joblib", kind="model")
    assert model.status_code == 400 and "does not accept model submissions" in model.json()["detail"]
    bogus = await upload(client, headers, SLUG, b"x", kind="video")
    assert (
        bogus.status_code == 400
        and "kind: expected one of predictions, model, code" in bogus.json()["detail"]
    )
    anonymous = await client.post(f"/api/challenges/{SLUG}/submissions", files={"file": ("p.csv", b"id\n")})
    assert anonymous.status_code == 401
    missing = await client.post(
        f"/api/challenges/{SLUG}/submissions", data={"note": "no file"}, headers=headers
    )
    assert missing.status_code == 400
    assert (await upload(client, headers, "no-such-challenge", b"id\n")).status_code == 404
    listing = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=headers)).json()
    assert listing == []


async def test_stored_file_is_content_addressed(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    data = csv_bytes(tumour_predictions()[0])
    response = await upload(client, headers, SLUG, data, filename="../../etc/evil name.csv")
    assert response.status_code == 202 and response.json()["filename"] == "evil name.csv"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    assert (settings.blobs_dir / digest[:2] / digest[2:4] / digest).read_bytes() == data
    assert not any("evil" in p.name for p in settings.data_dir.rglob("*"))


async def test_parquet_predictions_score_like_csv(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    predictions, expected = tumour_predictions()
    path = tmp_path / "p.parquet"
    predictions.to_parquet(path, index=False)
    response = await upload(client, headers, SLUG, path.read_bytes(), filename="p.parquet")
    assert response.status_code == 202
    await drain_queue(settings)
    body = (await client.get(f"/api/submissions/{response.json()['id']}", headers=headers)).json()
    assert body["status"] == "scored" and body["public_score"] == pytest.approx(expected, abs=1e-12)


async def test_board_keeps_each_teams_best_and_counts_submissions(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, TUMOUR)
    predictions, expected = tumour_predictions()
    ada, bob = await login(client, "ada"), await login(client, "bob")
    worse = predictions.assign(diagnosis=np.round(1 - predictions["diagnosis"], 6))
    for headers, frame in ((ada, worse), (ada, predictions), (bob, worse)):
        assert (await upload(client, headers, SLUG, csv_bytes(frame))).status_code == 202
    await upload(client, bob, SLUG, b"garbage")
    await drain_queue(settings)
    entries = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"]
    assert [(e["rank"], e["team"], e["submissions"]) for e in entries] == [(1, "ada", 2), (2, "bob", 2)]
    assert entries[0]["score"] == pytest.approx(expected, abs=1e-12)
    assert entries[1]["score"] == pytest.approx(1 - expected, abs=1e-9)
    page = (await client.get(f"/api/challenges/{SLUG}/leaderboard?limit=1&offset=1")).json()["entries"]
    assert [(e["rank"], e["team"]) for e in page] == [(2, "bob")]
    assert (await client.get(f"/api/challenges/{SLUG}/leaderboard?limit=0")).status_code == 400


async def test_a_worker_scores_the_next_file_after_an_invalid_one(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """One long-running worker: dropping an invalid file's bytes once ended its session's transaction
    with a rollback, which expired the worker's cached challenge files, and every later file of the
    challenge failed (DetachedInstanceError, five tries, then 'could not score')."""
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    with worker_process_of(settings, tmp_path / "worker.log"):
        bad = (await upload(client, headers, SLUG, b"id,diagnosis\nnot-an-id,0.5\n")).json()["id"]
        assert (await wait_for_status(client, headers, bad, {"scored", "failed"}))[
            "failure"
        ] == "invalid_predictions"
        good = (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
        seen = await wait_for_status(client, headers, good, {"scored", "failed"})
    assert seen["status"] == "scored", seen["error"]
