"""Loading challenges (idempotent, all-or-nothing), downloading public files, and teams."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from litestar.testing import AsyncTestClient

from core.settings import Settings
from tests.conftest import EXAMPLES, run_cli
from tests.helpers import load_challenge, login, upload

TUMOUR = EXAMPLES / "tumour-detection"


async def test_challenge_load_is_idempotent(settings: Settings, client: AsyncTestClient) -> None:
    first = run_cli(settings, "challenge", "load", *map(str, sorted(EXAMPLES.iterdir())))
    assert first.stdout.count("created challenge") == 5
    second = run_cli(settings, "challenge", "load", str(TUMOUR))
    assert "updated challenge tumour-detection" in second.stdout
    listing = (await client.get("/api/challenges")).json()
    assert sorted(c["slug"] for c in listing) == [
        "digits-vision-aid",
        "dyslexia-gaze",
        "smartport-vessel-delay",
        "tumour-detection",
        "tumour-segmentation",
    ]


async def test_invalid_bundle_is_reported_and_nothing_is_imported(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(TUMOUR, broken)
    manifest = yaml.safe_load((broken / "challenge.yaml").read_text())
    manifest.update(slug="broken-one", metric="auc", limits={"per_day": -1})
    (broken / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    result = run_cli(settings, "challenge", "load", str(broken), check=False)
    assert result.returncode == 1
    assert "metric: unknown metric 'auc'" in result.stderr and "limits.per_day" in result.stderr
    assert (await client.get("/api/challenges/broken-one")).status_code == 404


async def test_reloading_updates_the_challenge(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    copy = tmp_path / "t"
    shutil.copytree(TUMOUR, copy)
    await load_challenge(settings, copy)
    manifest = yaml.safe_load((copy / "challenge.yaml").read_text())
    manifest["title"] = "Renamed"
    (copy / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    await load_challenge(settings, copy)
    assert (await client.get("/api/challenges/tumour-detection")).json()["title"] == "Renamed"


async def test_public_files_download_and_labels_never(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    detail = (await client.get("/api/challenges/tumour-detection")).json()
    assert sorted(f["name"] for f in detail["files"]) == [
        "sample_submission.csv",
        "starter.py",
        "test.csv",
        "train.csv",
    ]
    assert detail["prediction_columns"] == ["id", "diagnosis"] and detail["metric"] == "roc_auc"
    test_csv = await client.get("/api/challenges/tumour-detection/files/test.csv")
    assert test_csv.status_code == 200
    assert test_csv.content == (TUMOUR / "data" / "test.csv").read_bytes()
    for name in ("labels.csv", "..%2Fhidden%2Flabels.csv", "challenge.yaml"):
        response = await client.get(f"/api/challenges/tumour-detection/files/{name}")
        assert response.status_code == 404, name
        assert "diagnosis" not in response.text


async def test_teams_create_join_leave_and_limits(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    base = "/api/challenges/tumour-detection"
    users = {name: await login(client, name) for name in ("ada", "bob", "cyd", "dan", "eve", "fay")}
    created = await client.post(f"{base}/teams", json={"name": "Cell Mates"}, headers=users["ada"])
    assert created.status_code == 201
    code = created.json()["invite_code"]
    assert created.json()["members"] == ["ada"]
    again = await client.post(f"{base}/teams", json={"name": "Other"}, headers=users["ada"])
    assert again.status_code == 409 and "already in a team" in again.json()["detail"]
    taken = await client.post(f"{base}/teams", json={"name": "Cell Mates"}, headers=users["fay"])
    assert taken.status_code == 409 and "already exists" in taken.json()["detail"]
    for name in ("bob", "cyd", "dan"):
        joined = await client.post(f"{base}/teams/join", json={"invite_code": code}, headers=users[name])
        assert joined.status_code == 200, joined.text
    full = await client.post(f"{base}/teams/join", json={"invite_code": code}, headers=users["eve"])
    assert full.status_code == 409 and "is full (4 members at most)" in full.json()["detail"]
    wrong = await client.post(f"{base}/teams/join", json={"invite_code": "nope"}, headers=users["eve"])
    assert wrong.status_code == 404
    assert (await client.delete(f"{base}/team/members/me", headers=users["dan"])).status_code == 204
    assert (
        await client.post(f"{base}/teams/join", json={"invite_code": code}, headers=users["eve"])
    ).status_code == 200
    mine = (await client.get(f"{base}/team", headers=users["bob"])).json()
    assert mine["members"] == ["ada", "bob", "cyd", "eve"] and mine["invite_code"] == code


async def test_invite_code_is_only_shown_to_members(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    base = "/api/challenges/tumour-detection"
    ada, bob = await login(client, "ada"), await login(client, "bob")
    code = (await client.post(f"{base}/teams", json={"name": "A"}, headers=ada)).json()["invite_code"]
    stranger = await client.get(f"{base}/team", headers=bob)
    assert stranger.status_code == 404 and code not in stranger.text
    assert (await client.get(f"{base}/team")).status_code == 401


async def test_first_solo_upload_picks_a_free_team_name_when_the_username_is_taken(
    settings: Settings, client: AsyncTestClient
) -> None:
    """Another user squatting a team named like the victim's username must not break the victim's upload."""
    await load_challenge(settings, TUMOUR)
    squatter = await login(client, "squatter")
    victim = await login(client, "victim1")
    data = (await client.get("/api/challenges/tumour-detection/files/sample_submission.csv")).content
    taken = await client.post(
        "/api/challenges/tumour-detection/teams", json={"name": "victim1"}, headers=squatter
    )
    assert taken.status_code == 201
    first = await upload(client, victim, "tumour-detection", data)
    assert first.status_code == 202, first.text
    assert first.json()["team"] == "victim1 (2)"
    # Leave the team, then upload again: a new one-person team with yet another free name.
    assert (
        await client.delete("/api/challenges/tumour-detection/team/members/me", headers=victim)
    ).status_code == 204
    again = await upload(client, victim, "tumour-detection", data)
    assert again.status_code == 202, again.text
    assert again.json()["team"] == "victim1 (3)"
