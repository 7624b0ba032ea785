"""A challenge in two phases, end to end on the digits example: a development phase and a final phase
with its own labels, split and limits. Each phase has its own board and quota; when the final phase
opens, each team's final selection (else its best submission) of the development phase is sent
again, once, and scored on the final phase's labels."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import yaml
from arq import create_pool
from litestar.testing import AsyncTestClient

from core.db import create_engine, create_sessionmaker
from core.models import utcnow
from core.queue import ArqQueue, redis_settings
from core.settings import Settings
from runner.phases import start_phases
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, login, upload
from tests.integration.test_lifecycle import bundle_zip, create, organiser

SLUG = "digits-vision-aid"
DIGITS = EXAMPLES / SLUG
LABELS = pd.read_csv(DIGITS / "hidden" / "labels.csv", dtype={"id": str})
NOISY = 60  # the development labels differ from the final ones on their first rows


def answers(wrong: int) -> pd.DataFrame:
    """The final phase's true digits with the first `wrong` rows wrong."""
    return LABELS.assign(digit=[(d + 1) % 10 if i < wrong else d for i, d in enumerate(LABELS["digit"])])


def two_phases(folder: Path, *, dev_closes: object, final_opens: object) -> bytes:
    """The digits bundle in two phases: development on noisy labels, then final (its own labels, half
    public, one upload a day), which migrates."""
    bundle = folder / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(DIGITS, bundle)
    answers(NOISY).to_csv(bundle / "hidden" / "dev_labels.csv", index=False)
    manifest = yaml.safe_load((bundle / "challenge.yaml").read_text())
    manifest.pop("schedule")
    manifest["data"]["test_labels"] = "hidden/dev_labels.csv"
    manifest["phases"] = [
        {
            "key": "development",
            "title": "Development",
            "schedule": {"opens": "2026-01-01T00:00:00Z", "closes": dev_closes},
        },
        {
            "key": "final",
            "title": "Final",
            "migrate": True,
            "schedule": {"opens": final_opens, "closes": "2030-12-31T18:00:00Z"},
            "data": {"test_labels": "hidden/labels.csv"},
            "public_fraction": 0.5,
            "limits": {"per_day": 1},
        },
    ]
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(bundle).as_posix())
    return buffer.getvalue()


async def test_two_phases_each_with_its_board_and_the_final_one_migrates(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    later = (utcnow() + timedelta(hours=1)).isoformat()
    created = await create(client, olga, two_phases(tmp_path, dev_closes=later, final_opens=later))
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)).status_code == 200
    detail = (await client.get(f"/api/challenges/{SLUG}")).json()
    assert detail["phase"] == "development"
    assert [(p["key"], p["status"], p["current"]) for p in detail["phases"]] == [
        ("development", "open", True),
        ("final", "upcoming", False),
    ]
    assert detail["limits"]["per_day"] == 20

    ada, bob = await login(client, "ada"), await login(client, "bob")
    best = await upload(client, ada, SLUG, csv_bytes(answers(0)))  # wrong on the noisy dev rows only
    chosen = await upload(client, ada, SLUG, csv_bytes(answers(100)))
    only = await upload(client, bob, SLUG, csv_bytes(answers(200)))
    for sent in (best, chosen, only):
        assert sent.status_code == 202, sent.text
        assert sent.json()["phase"] == "development"
    await drain_queue(settings)
    selected = await client.put(
        f"/api/submissions/{chosen.json()['id']}/final", json={"final": True}, headers=ada
    )
    assert selected.status_code == 200, selected.text
    dev_board = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert dev_board["phase"] == "development" and [e["team"] for e in dev_board["entries"]] == ["ada", "bob"]
    dev_score = dev_board["entries"][0]["score"]
    assert dev_score < 1.0  # the development labels are noisy on purpose

    # The development phase closes and the final one opens (the organiser moves the dates).
    now = (utcnow() - timedelta(seconds=1)).isoformat()
    moved = await client.put(
        f"/api/challenges/{SLUG}/bundle",
        files={"bundle": ("b.zip", two_phases(tmp_path, dev_closes=now, final_opens=now), "application/zip")},
        headers=olga,
    )
    assert moved.status_code == 200, moved.text
    assert (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()["entries"] == []

    engine = create_engine(settings.database)
    redis = await create_pool(redis_settings(settings.redis_url))
    try:
        sessions = create_sessionmaker(engine)
        migrated = await start_phases(sessions, utcnow())
        assert len(migrated) == 2  # ada's final selection, bob's best
        assert await start_phases(sessions, utcnow()) == []  # once
        for submission_id, where in migrated:
            await ArqQueue(redis).enqueue_evaluation(submission_id, where)
    finally:
        await redis.aclose()
        await engine.dispose()
    await drain_queue(settings)

    final = (await client.get(f"/api/challenges/{SLUG}/leaderboard")).json()
    assert final["phase"] == "final"
    n = len(LABELS)
    public_final = {e["team"]: e["score"] for e in final["entries"]}
    assert set(public_final) == {"ada", "bob"}
    mine = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=ada)).json()
    carried = [s for s in mine if s["phase"] == "final"]
    assert len(carried) == 1 and f"submission {chosen.json()['id']}" in carried[0]["note"]
    assert carried[0]["status"] == "scored"
    # Scored on the final labels: 100 of the n rows wrong overall, shared by the public and private halves.
    judy_view = (await client.get(f"/api/submissions/{carried[0]['id']}", headers=olga)).json()
    scores = (judy_view["public_score"], judy_view["private_score"])
    half = n // 2
    assert abs((scores[0] * half + scores[1] * (n - half)) - (n - 100)) < 1.5

    # The final phase's own quota: one upload a day, the migrated one not counted.
    sent = await upload(client, ada, SLUG, csv_bytes(answers(0)))
    assert sent.status_code == 202 and sent.json()["phase"] == "final"
    refused = await upload(client, ada, SLUG, csv_bytes(answers(0)))
    assert refused.status_code == 429, refused.text

    # The development board stays, by name; an unknown phase is refused with the known ones.
    kept = (await client.get(f"/api/challenges/{SLUG}/leaderboard?phase=development")).json()
    assert kept["entries"][0]["score"] == dev_score
    unknown = await client.get(f"/api/challenges/{SLUG}/leaderboard?phase=nope")
    assert unknown.status_code == 404 and "its phases: development, final" in unknown.text
    page = await client.get(f"/c/{SLUG}?phase=development")
    assert page.status_code == 200 and "Final" in page.text


async def test_a_phase_s_files_are_released_when_it_opens(
    settings: Settings, client: AsyncTestClient
) -> None:
    """The port-logistics example: its final phase's test set (models and code only) is kept from the
    teams until the phase opens; its staff see it before."""
    olga = await organiser(settings, client)
    slug = "smartport-vessel-delay"
    created = await create(client, olga, bundle_zip(EXAMPLES / slug))
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/challenges/{slug}/publish", headers=olga)).status_code == 200
    detail = (await client.get(f"/api/challenges/{slug}")).json()
    assert [(p["key"], p["kinds"], p["migrate"]) for p in detail["phases"]] == [
        ("development", ["predictions", "model", "code"], False),
        ("final", ["model", "code"], True),
    ]
    assert "test.csv" in {f["name"] for f in detail["files"]}
    final = (await client.get(f"/api/challenges/{slug}?phase=final")).json()
    assert final["phase"] == "final" and final["files"] == [] and final["limits"]["per_day"] == 3
    hidden = await client.get(f"/api/challenges/{slug}/files/test.csv?phase=final")
    assert hidden.status_code == 404 and "has not opened" in hidden.text
    staff_view = (await client.get(f"/api/challenges/{slug}?phase=final", headers=olga)).json()
    assert "test.csv" in {f["name"] for f in staff_view["files"]}
    early = await client.get(f"/api/challenges/{slug}/files/test.csv?phase=final", headers=olga)
    assert early.status_code == 200 and early.text.splitlines()[1].startswith("sma-f0000")
    # Now the development phase's test set; the page shows both phases.
    now = await client.get(f"/api/challenges/{slug}/files/test.csv")
    assert now.status_code == 200 and now.text.splitlines()[1].startswith("sma-0")
    page = (await client.get(f"/c/{slug}")).text
    assert "Development" in page and "Final" in page and 'aria-current="page"' in page
