"""Replacing a bundle's labels rescores every scored submission; organisers can also rescore on request."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from litestar.testing import AsyncTestClient

from core.db import create_engine, create_sessionmaker
from core.models import Role
from core.queue import ArqQueue
from core.settings import Settings
from runner.jobs import reconcile
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, login, make_user, upload
from tests.integration.test_lifecycle import bundle_zip
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
TUMOUR = EXAMPLES / SLUG


async def running_contest(
    settings: Settings, client: AsyncTestClient
) -> tuple[dict[str, str], dict[str, int]]:
    """A published tumour detection with ada's and bob's scored submissions."""
    await make_user(settings, "olga", Role.ORGANISER)
    olga = await login(client, "olga", register=False)
    url = "/api/challenges"
    created = await client.post(
        url, files={"bundle": ("b.zip", bundle_zip(TUMOUR), "application/zip")}, headers=olga
    )
    assert created.status_code == 201, created.text
    assert (await client.post(f"{url}/{SLUG}/publish", headers=olga)).status_code == 200
    predictions = tumour_predictions()[0]
    noise = np.random.default_rng(0).uniform(0, 0.5, len(predictions))
    noisy = predictions.assign(diagnosis=((predictions["diagnosis"] + noise) / 1.5).round(6))  # ranks worse
    sent = {}
    for name, frame in (
        ("ada", predictions),
        ("bob", noisy),
    ):
        response = await upload(client, await login(client, name), SLUG, csv_bytes(frame))
        sent[name] = response.json()["id"]
    await drain_queue(settings)
    return olga, sent


async def public_board(client: AsyncTestClient, headers: dict[str, str]) -> dict[str, float]:
    body = (await client.get(f"/api/challenges/{SLUG}/leaderboard", headers=headers)).json()
    return {e["team"]: e["score"] for e in body["entries"]}


def with_flipped_labels(tmp_path: Path) -> Path:
    folder = tmp_path / "flipped"
    shutil.copytree(TUMOUR, folder)
    labels = pd.read_csv(folder / "hidden" / "labels.csv", dtype={"id": str})
    labels["diagnosis"] = 1 - labels["diagnosis"]
    labels.to_csv(folder / "hidden" / "labels.csv", index=False)
    return folder


async def test_new_labels_rescore_every_submission_and_the_board_follows(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga, sent = await running_contest(settings, client)
    before = await public_board(client, olga)
    replaced = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(with_flipped_labels(tmp_path)), "application/zip")},
        headers=olga,
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["changed"] == ["data.test_labels"] and body["rescore"]["total"] == 2
    assert body["rescore"]["finished_at"] is None
    assert await public_board(client, olga) == before  # the old scores stand until the new ones are written
    await drain_queue(settings)
    progress = (await client.get(f"/api/challenges/{SLUG}/rescore", headers=olga)).json()[0]
    assert (progress["done"], progress["failed"], progress["total"]) == (2, 0, 2) and progress["finished_at"]
    after = await public_board(client, olga)
    # Flipped labels turn a ranking's ROC AUC into 1 - AUC: the new board is the old one upside down.
    assert after == {team: pytest.approx(1 - score, abs=1e-9) for team, score in before.items()}
    assert list(after) == list(reversed(before)), (before, after)
    ada = (await client.get(f"/api/submissions/{sent['ada']}", headers=olga)).json()
    assert ada["status"] == "scored" and ada["public_score"] == pytest.approx(1 - before["ada"], abs=1e-9)
    event = (await client.get(f"/api/challenges/{SLUG}/audit", headers=olga)).json()[:2]
    assert [e["action"] for e in event] == ["rescore", "bundle.replace"]
    assert event[1]["after"]["rescore_because"] == ["data.test_labels"]


async def test_after_the_reveal_a_bundle_that_would_change_scores_is_refused(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """The revealed private board is the contest's result: new labels once rescored and reordered it."""
    olga, _ = await running_contest(settings, client)
    for step in ("close", "reveal"):
        assert (await client.post(f"/api/challenges/{SLUG}/{step}", headers=olga)).status_code == 200
    url = f"/api/challenges/{SLUG}/leaderboard?board=private"
    before = (await client.get(url, headers=olga)).json()["entries"]
    refused = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(with_flipped_labels(tmp_path)), "application/zip")},
        headers=olga,
    )
    assert refused.status_code == 409, refused.text
    assert (
        "private board is revealed" in refused.json()["detail"]
        and "data.test_labels" in refused.json()["detail"]
    )
    assert (await client.get(f"/api/challenges/{SLUG}/rescore", headers=olga)).json() == []
    await drain_queue(settings)
    assert (await client.get(url, headers=olga)).json()["entries"] == before
    # A bundle that changes no score (the description) is still taken.
    retitled = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(TUMOUR, description="Results are in."), "application/zip")},
        headers=olga,
    )
    assert retitled.status_code == 200 and retitled.json()["changed"] == []


async def test_a_bundle_that_changes_no_score_rescores_nothing(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga, _ = await running_contest(settings, client)
    replaced = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(TUMOUR, title="Tumours, second edition"), "application/zip")},
        headers=olga,
    )
    assert replaced.status_code == 200 and replaced.json() == {"slug": SLUG, "rescore": None, "changed": []}
    assert (await client.get(f"/api/challenges/{SLUG}")).json()["title"] == "Tumours, second edition"
    other = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(TUMOUR, slug="another-one"), "application/zip")},
        headers=olga,
    )
    assert other.status_code == 422 and other.json()["problems"][0]["path"] == "slug"
    judge_like = await login(client, "ada", register=False)
    refused = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", bundle_zip(TUMOUR), "application/zip")},
        headers=judge_like,
    )
    assert refused.status_code == 404


async def test_organisers_rescore_on_request_one_or_all(settings: Settings, client: AsyncTestClient) -> None:
    olga, sent = await running_contest(settings, client)
    before = await public_board(client, olga)
    started = await client.post(f"/api/challenges/{SLUG}/rescore", headers=olga)
    assert started.status_code == 202 and started.json()["total"] == 2
    await drain_queue(settings)
    assert await public_board(client, olga) == before  # the same data gives the same scores
    one = await client.post(f"/api/submissions/{sent['ada']}/rescore", headers=olga)
    assert one.status_code == 202
    await drain_queue(settings)
    rescores = (await client.get(f"/api/challenges/{SLUG}/rescore", headers=olga)).json()
    assert [(r["total"], r["done"]) for r in rescores] == [(1, 1), (2, 2)]
    ada = await login(client, "ada", register=False)
    assert (await client.post(f"/api/submissions/{sent['ada']}/rescore", headers=ada)).status_code == 404
    assert (await client.post(f"/api/challenges/{SLUG}/rescore", headers=ada)).status_code == 404
    broken = (await upload(client, ada, SLUG, b"id,diagnosis\nnope,1\n")).json()["id"]
    await drain_queue(settings)
    again = await client.post(f"/api/submissions/{broken}/rescore", headers=olga)
    assert again.status_code == 202 and again.json()["status"] == "queued"
    await drain_queue(settings)
    assert (await client.get(f"/api/submissions/{broken}", headers=ada)).json()["status"] == "failed"


async def test_a_rescore_whose_jobs_redis_lost_is_finished_by_the_reconciler(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga, _ = await running_contest(settings, client)
    started = await client.post(f"/api/challenges/{SLUG}/rescore", headers=olga)
    assert started.status_code == 202 and started.json()["total"] == 2
    queue = await ArqQueue.connect(settings.redis_url)
    engine = create_engine(settings.database)
    ctx = {
        "settings": settings.with_(reconcile_after_s=0),
        "sessions": create_sessionmaker(engine),
        "redis": queue.redis,
    }
    try:
        assert await queue.redis.zcard("arq:queue") == 2
        await reconcile(ctx)  # the jobs are still queued: arq refuses the same ids again
        assert await queue.redis.zcard("arq:queue") == 2
        await queue.redis.flushdb()  # Redis restarted without persistence: the jobs are gone
        await drain_queue(settings)
        progress = (await client.get(f"/api/challenges/{SLUG}/rescore", headers=olga)).json()[0]
        assert progress["done"] == 0 and progress["finished_at"] is None
        await reconcile(ctx)
        assert await queue.redis.zcard("arq:queue") == 2
        await drain_queue(settings)
    finally:
        await queue.close()
        await engine.dispose()
    progress = (await client.get(f"/api/challenges/{SLUG}/rescore", headers=olga)).json()[0]
    assert (progress["done"], progress["total"]) == (2, 2) and progress["finished_at"]
