"""Every staff route against every kind of caller: the challenge's organiser and judge, the organiser
of another challenge, a participant of this one, and an anonymous visitor."""

from __future__ import annotations

import io

import pytest
from litestar.testing import AsyncTestClient

from core.models import StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, upload
from tests.integration.test_lifecycle import bundle_zip
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
OTHER = "dyslexia-gaze"
A = f"/api/challenges/{SLUG}"

# (method, path, body, who may: "staff" = organisers and judges, "organisers")
READS = [
    ("GET", f"{A}/staff", None),
    ("GET", f"{A}/audit", None),
    ("GET", f"{A}/bundle", None),
    ("GET", f"{A}/rescore", None),
    ("GET", f"{A}/teams", None),
    ("GET", f"{A}/disqualifications", None),
    ("GET", f"{A}/export/leaderboard.csv?board=private", None),
    ("GET", f"{A}/export/submissions.csv", None),
    ("GET", f"{A}/leaderboard?board=private", None),
    ("GET", f"{A}/leaderboard/stream?board=private", None),
    ("GET", f"{A}/chain", None),  # the submission record: the staff's until the reveal
    ("GET", f"{A}/teams/{{team}}/notes", None),
    ("GET", "/api/submissions/{submission}/notes", None),
    ("POST", f"{A}/teams/{{team}}/notes", {"text": "a note"}),
    ("POST", "/api/submissions/{submission}/notes", {"text": "a note"}),
]
WRITES = [  # organisers only; a judge is told 403
    ("POST", f"{A}/staff", {"username": "ada", "role": "judge"}),
    ("DELETE", f"{A}/staff/judy", None),
    ("PATCH", A, {"title": "Taken over"}),
    ("POST", f"{A}/publish", None),
    ("POST", f"{A}/close", None),
    ("POST", f"{A}/reveal", None),
    ("DELETE", A, None),
    ("POST", f"{A}/rescore", None),
    ("POST", "/api/submissions/{submission}/rescore", None),
    ("POST", f"{A}/disqualifications", {"team_id": "{team}", "reason": "no"}),
    ("DELETE", f"{A}/disqualifications/1", None),
    ("PUT", f"{A}/bundle", "bundle"),
    ("POST", f"{A}/environment/rebuild", None),
]


async def _call(
    client: AsyncTestClient, method: str, path: str, body: object, headers: dict | None, ids: dict
):
    path = path.format(**ids)
    if body == "bundle":
        files = {"bundle": ("b.zip", io.BytesIO(bundle_zip(EXAMPLES / SLUG)), "application/zip")}
        return await client.request(method, path, files=files, headers=headers)
    if isinstance(body, dict):
        body = {
            k: (int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v)
            for k, v in body.items()
        }
    return await client.request(method, path, json=body, headers=headers)


@pytest.fixture
async def cast(settings: Settings, client: AsyncTestClient) -> tuple[dict, dict]:
    await load_challenge(settings, EXAMPLES / SLUG)
    await load_challenge(settings, EXAMPLES / OTHER)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    await make_staff(settings, "otto", OTHER, StaffRole.ORGANISER)
    people = {n: await login(client, n, register=False) for n in ("olga", "judy", "otto")}
    people["ada"] = await login(client, "ada")
    people["anonymous"] = None
    sent = (await upload(client, people["ada"], SLUG, csv_bytes(tumour_predictions()[0]))).json()
    await drain_queue(settings)
    return people, {"submission": sent["id"], "team": sent["team_id"]}


async def test_outsiders_get_404_and_anonymous_401_on_every_staff_route(
    client: AsyncTestClient, cast: tuple[dict, dict]
) -> None:
    people, ids = cast
    for method, path, body in READS + WRITES:
        # The boards and the record are open to visitors at times: to them, these are not there now.
        anonymous = 404 if f"{A}/leaderboard" in path or path.endswith("/chain") else 401
        for who, expected in (("otto", 404), ("ada", 404), ("anonymous", anonymous)):
            response = await _call(client, method, path, body, people[who], ids)
            assert response.status_code == expected, (who, method, path, response.status_code, response.text)
            assert "public_score" not in response.text and "a note" not in response.text


async def test_judges_read_and_note_but_do_not_run_the_challenge(
    client: AsyncTestClient, cast: tuple[dict, dict]
) -> None:
    people, ids = cast
    for method, path, body in READS:
        if path.endswith("/stream?board=private"):
            continue  # a stream never ends; its refusals are checked above
        response = await _call(client, method, path, body, people["judy"], ids)
        assert response.status_code in (200, 201), (method, path, response.status_code, response.text)
    for method, path, body in WRITES:
        response = await _call(client, method, path, body, people["judy"], ids)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert "only its organisers may do this" in response.json()["detail"]


async def test_the_organiser_reads_everything(client: AsyncTestClient, cast: tuple[dict, dict]) -> None:
    people, ids = cast
    for method, path, body in READS:
        if path.endswith("/stream?board=private"):
            continue
        response = await _call(client, method, path, body, people["olga"], ids)
        assert response.status_code in (200, 201), (method, path, response.status_code, response.text)
