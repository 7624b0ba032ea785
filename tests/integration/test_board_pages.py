"""The challenge page and the chart draw only the top of a big board."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from core.settings import Settings
from server.web import pages
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, eventually, load_challenge, login, upload
from tests.integration.test_model_and_code import digits_bundle
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"


async def three_teams(settings: Settings, client: AsyncTestClient) -> None:
    """bob (perfect), ada (the radius rule), cy (its opposite): best to worst."""
    await load_challenge(settings, EXAMPLES / SLUG)
    predictions, _ = tumour_predictions()
    bodies = {
        "ada": csv_bytes(predictions),
        "bob": (EXAMPLES / SLUG / "hidden" / "labels.csv").read_bytes(),
        "cyrille": csv_bytes(predictions.assign(diagnosis=1 - predictions["diagnosis"])),
    }
    for name, body in bodies.items():
        assert (await upload(client, await login(client, name), SLUG, body)).status_code == 202
    await drain_queue(settings)


def board_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-team="([^"]+)"', html)


async def test_the_challenge_page_shows_the_top_of_the_board_and_every_team_on_request(
    settings: Settings, client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await three_teams(settings, client)
    monkeypatch.setattr(pages, "BOARD_TOP", 2)
    page = (await client.get(f"/c/{SLUG}")).text
    assert board_rows(page) == ["bob", "ada"]
    assert "The top 2 of 3 teams." in page and 'data-top="2"' in page  # the live board streams 2 rows too
    everyone = (await client.get(f"/c/{SLUG}?all=1")).text
    assert board_rows(everyone) == ["bob", "ada", "cyrille"]
    assert "The top" not in everyone and 'data-top="0"' in everyone


async def test_the_chart_draws_the_leading_teams_and_follows_the_board(
    settings: Settings, client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await three_teams(settings, client)
    monkeypatch.setattr(pages, "CHART_TEAMS", 2)
    chart = (await client.get(f"/c/{SLUG}/progress.svg")).text
    assert ">bob " in chart and ">ada " in chart and ">cyrille " not in chart
    headers = await login(client, "cyrille", register=False)
    assert (
        await upload(client, headers, SLUG, (EXAMPLES / SLUG / "hidden" / "labels.csv").read_bytes())
    ).status_code == 202
    await drain_queue(settings)  # cyrille now ties bob, later: second

    async def drawn() -> list[bool]:
        chart = (await client.get(f"/c/{SLUG}/progress.svg")).text
        return [f">{team} " in chart for team in ("bob", "cyrille", "ada")]

    await eventually(drawn, [True, True, False])


async def test_pages_forbid_inline_scripts_and_framing(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    for path in ["/", f"/c/{SLUG}", f"/c/{SLUG}/team", f"/c/{SLUG}/progress.svg", "/login"]:
        headers = (await client.get(path)).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, path
        assert headers["x-content-type-options"] == "nosniff", path


async def test_the_api_viewer_and_the_json_api_carry_the_same_policy(client: AsyncTestClient) -> None:
    viewer = await client.get("/schema")
    assert viewer.status_code == 200 and "text/html" in viewer.headers["content-type"]
    assert "script-src 'self';" in viewer.headers["content-security-policy"]
    # Every asset of the viewer is served here: no other host is named, nothing runs inline.
    assert "http://" not in viewer.text and "https://" not in viewer.text and "<script>" not in viewer.text
    for asset in [
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/swagger-ui/swagger-ui.css",
        "/static/api-docs.js",
    ]:
        assert asset in viewer.text
        assert (await client.get(asset)).status_code == 200, asset
    for path in ["/api/health", "/api/challenges", "/schema/openapi.json"]:
        assert (await client.get(path)).headers["x-content-type-options"] == "nosniff", path


async def test_a_multi_class_code_challenge_page_names_the_probability_columns(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, digits_bundle(tmp_path))
    page = (await client.get("/c/digits-vision-aid")).text
    assert "a DataFrame with the columns proba_0, proba_1, proba_2" in page
    assert "proba_9 (matched by name, in any order)" in page


async def test_the_challenge_page_says_what_its_metric_measures_in_each_language(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)  # ROC AUC, higher is better
    english = (await client.get(f"/c/{SLUG}?lang=en")).text
    assert "Metric: roc_auc (higher is better)" in english
    assert "Area under the ROC curve: the chance that a positive row gets a higher probability" in english
    french = (await client.get(f"/c/{SLUG}?lang=fr")).text
    assert "Aire sous la courbe ROC" in french and "plus c&#39;est haut, mieux c&#39;est" in french
