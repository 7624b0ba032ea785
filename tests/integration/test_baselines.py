"""Baselines and starter kits: a bundle's `baselines/` are scored at load and shown on both boards as
reference rows, never ranked nor counted as teams; the starter kit is served, and what it writes is a
valid submission that scores."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from litestar.testing import AsyncTestClient

from challenges.bundle import BundleError, load_bundle
from core.models import StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, upload
from tests.integration.test_lifecycle import bundle_zip, create, organiser

SLUG = "tumour-detection"
BASELINE = "one-feature logistic regression"


async def test_baselines_are_on_both_boards_unranked_and_not_teams(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    expected = load_bundle(EXAMPLES / SLUG).baselines[0].scores
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert board["teams"] == 0 and board["entries"] == []
    assert board["baselines"] == [
        {"name": BASELINE, "score": expected.public_score, "metrics": pytest.approx(expected.public)}
    ]
    labels = pd.read_csv(EXAMPLES / SLUG / "hidden" / "labels.csv", dtype={"id": str})
    worse = labels.assign(diagnosis=0.5)  # chance: below the baseline
    for name, frame in (("bob", labels), ("cyrille", worse)):
        assert (await upload(client, await login(client, name), SLUG, csv_bytes(frame))).status_code == 202
    await drain_queue(settings)
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert [(e["rank"], e["team"]) for e in board["entries"]] == [(1, "bob"), (2, "cyrille")] and board[
        "teams"
    ] == 2
    page = (await client.get(f"/c/{SLUG}")).text
    rows = re.findall(r'<tr (?:data-team="([^"]+)"|class="baseline" data-baseline="([^"]+)")', page)
    assert rows == [("bob", ""), ("", BASELINE), ("cyrille", "")]
    assert "never ranked" in page

    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    judy = await login(client, "judy", register=False)
    private = (await client.get(f"/api/challenges/{SLUG}/leaderboard?board=private", headers=judy)).json()
    assert private["baselines"][0]["score"] == expected.private_score


async def test_the_starter_kit_is_served_and_writes_a_submission_that_scores(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    types = {"starter.py": "text/plain", "train.csv": "text/csv", "test.csv": "text/csv"}
    for name, media_type in types.items():
        response = await client.get(f"/api/challenges/{SLUG}/files/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == media_type, name  # a script is not a CSV
        (tmp_path / name).write_bytes(response.content)
    assert "starter.py" in (await client.get(f"/c/{SLUG}")).text
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "starter.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    ada = await login(client, "ada")
    sent = await upload(client, ada, SLUG, (tmp_path / "submission.csv").read_bytes())
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    scored = (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()
    assert scored["status"] == "scored" and scored["public_score"] > 0.9


async def test_a_bad_baseline_is_named_and_the_bundle_download_keeps_them(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    shutil.copytree(EXAMPLES / SLUG, folder)
    (folder / "baselines" / "model.txt").write_bytes(b"\x80\x04")
    (folder / "baselines" / "short.csv").write_text("id,diagnosis\ntum-00000,0.5\n")
    with pytest.raises(BundleError) as refused:
        load_bundle(folder)
    problems = {p.path: p.message for p in refused.value.problems}
    assert "a model (.joblib, .pkl, .skops or .onnx) or code (.zip)" in problems["baselines/model.txt"]
    assert "would be refused as a submission" in problems["baselines/short.csv"]

    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(EXAMPLES / SLUG))).status_code == 201
    archive = zipfile.ZipFile(
        io.BytesIO((await client.get(f"/api/challenges/{SLUG}/bundle", headers=olga)).content)
    )
    assert f"baselines/{BASELINE}.csv" in archive.namelist() and "starter/starter.py" in archive.namelist()
    assert (
        archive.read(f"baselines/{BASELINE}.csv")
        == (EXAMPLES / SLUG / "baselines" / f"{BASELINE}.csv").read_bytes()
    )
