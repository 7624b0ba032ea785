"""Who may see what: other teams' submissions, invite codes, private scores and the private board."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from litestar.testing import AsyncTestClient

from core.models import StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import (
    PASSWORD,
    csv_bytes,
    drain_queue,
    load_challenge,
    login,
    make_staff,
    upload,
)
from tests.integration.test_submissions import tumour_predictions

TUMOUR = EXAMPLES / "tumour-detection"
SLUG = "tumour-detection"


async def _scored_submissions(
    settings: Settings, client: AsyncTestClient
) -> tuple[dict[str, str], dict[str, str], int, int]:
    await load_challenge(settings, TUMOUR)
    ada, bob = await login(client, "ada"), await login(client, "bob")
    data = csv_bytes(tumour_predictions()[0])
    ada_id = (await upload(client, ada, SLUG, data)).json()["id"]
    bob_id = (await upload(client, bob, SLUG, data)).json()["id"]
    await drain_queue(settings)
    return ada, bob, ada_id, bob_id


async def test_a_team_cannot_read_another_teams_submission(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada, bob, ada_id, bob_id = await _scored_submissions(settings, client)
    assert (await client.get(f"/api/submissions/{ada_id}", headers=ada)).status_code == 200
    stolen = await client.get(f"/api/submissions/{ada_id}", headers=bob)
    assert stolen.status_code == 404 and "public_score" not in stolen.text
    assert (await client.get(f"/api/submissions/{ada_id}")).status_code == 401
    bobs = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=bob)).json()
    assert [s["id"] for s in bobs] == [bob_id]


async def test_a_teammate_reads_the_teams_submissions(settings: Settings, client: AsyncTestClient) -> None:
    ada, _, ada_id, _ = await _scored_submissions(settings, client)
    code = (await client.get(f"/api/challenges/{SLUG}/team", headers=ada)).json()["invite_code"]
    cyd = await login(client, "cyd")
    assert (
        await client.post(f"/api/challenges/{SLUG}/teams/join", json={"invite_code": code}, headers=cyd)
    ).status_code == 200
    assert (await client.get(f"/api/submissions/{ada_id}", headers=cyd)).status_code == 200


async def test_private_board_and_scores_are_for_the_staff_before_the_reveal(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada, _, ada_id, bob_id = await _scored_submissions(settings, client)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    judy, olga = await login(client, "judy", register=False), await login(client, "olga", register=False)
    private = f"/api/challenges/{SLUG}/leaderboard?board=private"
    for who in (None, ada):
        refused = await client.get(private, headers=who)
        assert refused.status_code == 404
        assert "organisers and judges until it is revealed" in refused.json()["detail"]
    for who in (judy, olga):
        board = await client.get(private, headers=who)
        assert board.status_code == 200 and len(board.json()["entries"]) == 2
        assert {e["submission_id"] for e in board.json()["entries"]} == {ada_id, bob_id}
    public = (await client.get(f"/api/challenges/{SLUG}/leaderboard", headers=ada)).json()
    assert [e["submission_id"] for e in public["entries"]] == [None, None]
    own = (await client.get(f"/api/submissions/{ada_id}", headers=ada)).json()
    assert own["private_score"] is None and "private" not in own["metrics"]
    judged = (await client.get(f"/api/submissions/{ada_id}", headers=judy)).json()
    assert judged["private_score"] is not None and "private" in judged["metrics"]


def _rescheduled(tmp_path: Path, **schedule: str) -> Path:
    closed = tmp_path / "closed"
    shutil.copytree(TUMOUR, closed)
    manifest = yaml.safe_load((closed / "challenge.yaml").read_text())
    manifest["schedule"] = schedule
    (closed / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    return closed


async def test_the_close_alone_keeps_the_private_board_with_the_staff(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    ada, _, ada_id, _ = await _scored_submissions(settings, client)
    await load_challenge(
        settings, _rescheduled(tmp_path, opens="2020-01-01T00:00:00Z", closes="2021-01-01T00:00:00Z")
    )
    assert (await client.get(f"/api/challenges/{SLUG}/leaderboard?board=private")).status_code == 404
    assert (await client.get(f"/api/submissions/{ada_id}", headers=ada)).json()["private_score"] is None
    assert (await client.get(f"/api/challenges/{SLUG}")).json()["state"] == "closed"


async def test_after_the_reveal_everyone_sees_the_private_board(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    ada, _, ada_id, _ = await _scored_submissions(settings, client)
    schedule = {
        "opens": "2020-01-01T00:00:00Z",
        "closes": "2021-01-01T00:00:00Z",
        "reveal": "2021-01-02T00:00:00Z",
    }
    await load_challenge(settings, _rescheduled(tmp_path, **schedule))
    board = await client.get(f"/api/challenges/{SLUG}/leaderboard?board=private")
    assert board.status_code == 200 and len(board.json()["entries"]) == 2
    assert (await client.get(f"/api/submissions/{ada_id}", headers=ada)).json()["private_score"] is not None


async def test_bad_board_name_is_a_clear_400(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    response = await client.get(f"/api/challenges/{SLUG}/leaderboard?board=secret")
    assert response.status_code == 400 and "board" in response.text


async def test_passwords_and_hashes_never_leave_the_server(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada, *_ = await _scored_submissions(settings, client)
    for path in ("/api/me", f"/api/challenges/{SLUG}/team", f"/api/challenges/{SLUG}/submissions"):
        text = (await client.get(path, headers=ada)).text
        assert "argon2" not in text and PASSWORD not in text


async def test_final_selections_drive_the_private_board(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, TUMOUR)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    ada, judy = await login(client, "ada"), await login(client, "judy", register=False)
    predictions = tumour_predictions()[0]
    flipped = predictions.assign(diagnosis=(1 - predictions["diagnosis"]).round(6))
    ids = [
        (await upload(client, ada, SLUG, csv_bytes(frame))).json()["id"]
        for frame in (predictions, flipped, predictions)
    ]
    await drain_queue(settings)
    best_public = (await client.get(f"/api/submissions/{ids[0]}", headers=judy)).json()
    flipped_one = (await client.get(f"/api/submissions/{ids[1]}", headers=judy)).json()
    private = f"/api/challenges/{SLUG}/leaderboard?board=private"
    assert (await client.get(private, headers=judy)).json()["entries"][0]["score"] == best_public[
        "private_score"
    ]
    chosen = await client.put(f"/api/submissions/{ids[1]}/final", json={"final": True}, headers=ada)
    assert chosen.status_code == 200 and chosen.json()["final"] is True
    assert (await client.get(private, headers=judy)).json()["entries"][0]["score"] == flipped_one[
        "private_score"
    ]
    assert (
        await client.put(f"/api/submissions/{ids[2]}/final", json={"final": True}, headers=ada)
    ).status_code == 200
    third = await client.put(f"/api/submissions/{ids[0]}/final", json={"final": True}, headers=ada)
    assert third.status_code == 409 and "already selected 2 final submission(s)" in third.json()["detail"]
    assert (
        await client.put(f"/api/submissions/{ids[2]}/final", json={"final": False}, headers=ada)
    ).status_code == 200
    bob = await login(client, "bob")
    stranger = await client.put(f"/api/submissions/{ids[0]}/final", json={"final": True}, headers=bob)
    assert stranger.status_code == 404


@pytest.mark.parametrize("submission_id", ["0", "2147483648", "99999999999999999999"])
async def test_out_of_range_submission_ids_are_not_found(
    settings: Settings, client: AsyncTestClient, submission_id: str
) -> None:
    headers = await login(client, "ada")
    assert (await client.get(f"/api/submissions/{submission_id}", headers=headers)).status_code == 404
    final = await client.put(f"/api/submissions/{submission_id}/final", json={"final": True}, headers=headers)
    assert final.status_code == 404


async def test_text_no_row_can_hold_is_refused_or_not_found_never_a_server_error(
    settings: Settings, client: AsyncTestClient
) -> None:
    """PostgreSQL refuses text holding a NUL: such input must never reach a query (it was a 500)."""
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    token = await client.post("/api/auth/token", json={"username": "ad\u0000a", "password": PASSWORD})
    assert token.status_code == 401
    register = await client.post(
        "/api/auth/register", json={"username": "bob", "password": PASSWORD, "email": "b\u0000@x.org"}
    )
    assert register.status_code == 400
    team = await client.post(f"/api/challenges/{SLUG}/teams", json={"name": "a\u0000b"}, headers=headers)
    assert team.status_code == 400 and "control characters" in team.json()["detail"]
    join = await client.post(
        f"/api/challenges/{SLUG}/teams/join", json={"invite_code": "x\u0000"}, headers=headers
    )
    assert join.status_code == 404
    assert (await client.get("/api/challenges/a%00b")).status_code == 404
    note = await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]), note="n\u0000")
    assert note.status_code == 400 and "NUL" in note.json()["detail"]
