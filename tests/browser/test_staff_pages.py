"""The staff's pages: an organiser creates and runs a contest, and a judge reviews a team and leaves
notes, from the browser with the keyboard alone; every new page passes axe-core in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from core.models import Role, StaffRole
from core.settings import Settings
from tests.browser.helpers import signed_in
from tests.browser.test_accessibility import tab_to, violations
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, make_user, upload
from tests.integration.test_lifecycle import bundle_zip
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"


async def scored_contest(settings: Settings, api: str) -> dict[str, dict[str, str]]:
    """Tumour detection, published, with ada's and bob's scored submissions, an organiser and a judge."""
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        people = {name: await login(http, name, register=False) for name in ("olga", "judy")}
        predictions = tumour_predictions()[0]
        for name, frame in (
            ("ada", predictions),
            ("bob", predictions.assign(diagnosis=1 - predictions["diagnosis"])),
        ):
            people[name] = await login(http, name)
            assert (await upload(http, people[name], SLUG, csv_bytes(frame))).status_code == 202
    await drain_queue(settings)
    return people


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_staff_pages_pass_the_axe_rules(
    settings: Settings, api: str, page: Page, lang: str
) -> None:
    people = await scored_contest(settings, api)
    page.on("dialog", lambda dialog: dialog.accept())
    found: dict[str, list[str]] = {}
    await signed_in(page, api, people["olga"])
    await page.goto(f"{api}/organise?lang={lang}")
    await expect(page.locator(f'[data-mine] tr[data-slug="{SLUG}"]')).to_be_visible()
    found["organise"] = await violations(page)
    await page.goto(f"{api}/c/{SLUG}/admin?lang={lang}")
    await expect(page.locator("[data-subs] tbody tr")).to_have_count(2)
    await expect(page.locator("[data-audit] tbody tr").first).to_be_visible()
    found["admin"] = await violations(page)
    await signed_in(page, api, people["judy"])
    await page.goto(f"{api}/c/{SLUG}/judge?lang={lang}")
    await page.locator('[data-judge-board="private"] tr[data-team="ada"] td:last-child button').click()
    await expect(page.locator("[data-team-subs] tbody tr")).to_have_count(1)
    found["judge team view"] = await violations(page)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for step in ("close", "reveal"):
            assert (
                await http.post(f"/api/challenges/{SLUG}/{step}", headers=people["olga"])
            ).status_code == 200
    for path in (f"/c/{SLUG}/final?lang={lang}", f"/c/{SLUG}/screen?board=private&lang={lang}"):
        await page.goto(f"{api}{path}")
        found[path] = await violations(page)
    assert {where: problems for where, problems in found.items() if problems} == {}


async def test_the_final_page_shows_each_teams_move(settings: Settings, api: str, page: Page) -> None:
    people = await scored_contest(settings, api)
    assert (await page.goto(f"{api}/c/{SLUG}/final")).status == 404  # before the reveal: nothing to see
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for step in ("close", "reveal"):
            await http.post(f"/api/challenges/{SLUG}/{step}", headers=people["olga"])
    await page.goto(f"{api}/c/{SLUG}/final")
    await expect(page.locator("table").first.locator("tbody tr")).to_have_count(2)
    await expect(page.locator('tr[data-team="ada"] .move').first).to_have_text("unchanged")
    await page.goto(f"{api}/c/{SLUG}/screen?board=private")
    await expect(page.locator("caption")).to_contain_text("Private leaderboard")
    await expect(page.locator("[data-teams-count]")).to_have_text("2 teams")


async def test_an_organiser_creates_publishes_and_closes_with_the_keyboard_alone(
    settings: Settings, api: str, page: Page, tmp_path: Path
) -> None:
    await make_user(settings, "olga", Role.ORGANISER)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        olga = await login(http, "olga", register=False)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bundle_zip(EXAMPLES / SLUG, metric="auc", public_fraction=2))
    good = tmp_path / "bundle.zip"
    good.write_bytes(bundle_zip(EXAMPLES / SLUG))
    page.on("dialog", lambda dialog: dialog.accept())
    await signed_in(page, api, olga)
    await page.goto(f"{api}/organise")

    async def create(path: Path) -> None:
        await tab_to(page, page.locator("#bundle-file"))
        for attempt in range(3):  # headless Chromium once missed a Space on a just-focused file input
            try:
                async with page.expect_file_chooser(timeout=10_000) as chooser:
                    await page.keyboard.press("Space")
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        await (await chooser.value).set_files(path)
        await tab_to(page, page.get_by_role("button", name="Create the draft"))
        await page.keyboard.press("Enter")

    await create(broken)  # every problem is shown in place
    await expect(page.locator("[data-problems] li")).to_have_count(2)
    await expect(page.locator("[data-problems]")).to_contain_text("metric")
    await expect(page.locator("[data-problems]")).to_contain_text("public_fraction")
    await page.goto(f"{api}/organise")
    await create(good)
    manage = page.get_by_role("link", name="Manage Tumour detection from cell nuclei").first
    await expect(manage).to_be_visible()
    await tab_to(page, manage)
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-state]")).to_have_text("draft")
    await tab_to(page, page.get_by_role("button", name="Publish"))
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-state]")).to_have_text("published")
    await tab_to(page, page.get_by_role("button", name="Close now"))
    await page.keyboard.press("Enter")  # the confirmation is accepted
    await expect(page.locator("[data-state]")).to_have_text("closed")
    await expect(page.locator("[data-audit] tbody tr")).to_have_count(3)  # create, publish, close


async def test_a_judge_opens_a_team_and_leaves_notes_with_the_keyboard_alone(
    settings: Settings, api: str, page: Page
) -> None:
    people = await scored_contest(settings, api)
    await signed_in(page, api, people["judy"])
    await page.goto(f"{api}/c/{SLUG}/judge")
    open_team = page.get_by_role("button", name="Open team ada").first
    await expect(open_team).to_be_visible()
    await tab_to(page, open_team)
    await page.keyboard.press("Enter")
    await expect(page.locator("#team-view-heading")).to_be_focused()
    await expect(page.locator("[data-team-members]")).to_have_text("ada")
    await tab_to(page, page.get_by_label("Note on this team (staff only)"))
    await page.keyboard.type("Explained their features well.")
    await tab_to(page, page.locator("[data-team-note] button"))
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-team-notes] li")).to_contain_text("judy")
    await expect(page.locator("[data-team-notes] li")).to_contain_text("Explained their features well.")
    show = page.locator("[data-team-subs] button").first
    await tab_to(page, show, limit=80)
    await page.keyboard.press("Enter")
    await expect(page.locator("#details-heading")).to_be_focused()
    await tab_to(page, page.get_by_label("Note on this submission (staff only)"))
    await page.keyboard.type("Check the seed.")
    await tab_to(page, page.locator("[data-submission-note] button"))
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-submission-notes] li")).to_contain_text("Check the seed.")
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:  # and participants never see them
        mine = (await http.get(f"/api/challenges/{SLUG}/submissions", headers=people["ada"])).text
        assert "Check the seed." not in mine


async def test_the_judges_boards_show_intervals_ties_and_baselines(
    settings: Settings, api: str, page: Page
) -> None:
    people = await scored_contest(settings, api)
    await signed_in(page, api, people["judy"])
    await page.goto(f"{api}/c/{SLUG}/judge")
    for board in ("private", "public"):
        rows = page.locator(f'[data-judge-board="{board}"] tbody tr')
        await expect(rows).to_have_count(3)  # ada, the example's baseline (between), bob
        await expect(rows.nth(1)).to_have_class(re.compile(r"\bbaseline\b"))
        await expect(rows.nth(1)).to_contain_text("one-feature logistic regression (baseline)")
        await expect(rows.nth(0).locator("td").nth(2)).to_have_text(re.compile(r"^\d\.\d{4}–\d\.\d{4}$"))
        await expect(rows.nth(0)).to_have_class(re.compile(r"\btied\b"))  # the leader is tied with itself
        await expect(rows.nth(2)).not_to_have_class(re.compile(r"\btied\b"))


async def test_a_disqualified_team_reads_why_on_its_page(settings: Settings, api: str, page: Page) -> None:
    people = await scored_contest(settings, api)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        team = (await http.get(f"/api/challenges/{SLUG}/team", headers=people["ada"])).json()["id"]
        made = await http.post(
            f"/api/challenges/{SLUG}/disqualifications",
            json={"team_id": team, "reason": "two accounts, one person"},
            headers=people["olga"],
        )
        assert made.status_code == 201
    await signed_in(page, api, people["ada"])
    await page.goto(f"{api}/c/{SLUG}/team")
    await expect(page.locator("[data-team-dq]")).to_have_text(
        "Your team was disqualified by the organisers: two accounts, one person"
    )
    await expect(page.locator("[data-submissions] tbody tr").first).to_contain_text(
        "disqualified: two accounts"
    )
    assert await violations(page) == []


async def test_the_screen_fits_a_1024_by_768_projector(settings: Settings, api: str, page: Page) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        predictions = tumour_predictions()[0]
        for n in range(12):  # more teams than one page of the screen holds
            headers = await login(http, f"team{n:02d}")
            shifted = predictions.assign(diagnosis=(predictions["diagnosis"] * (1 - n / 30)).round(6))
            assert (await upload(http, headers, SLUG, csv_bytes(shifted))).status_code == 202
    await drain_queue(settings)
    await page.set_viewport_size({"width": 1024, "height": 768})
    await page.goto(f"{api}/c/{SLUG}/screen")
    await expect(page.locator("[data-board] tbody tr")).to_have_count(10)
    await expect(page.locator("[data-page-label]")).to_have_text("ranks 1 to 10")
    await expect(page.locator("[data-teams-count]")).to_have_text("12 teams")
    overflow = await page.evaluate("document.documentElement.scrollHeight - window.innerHeight")
    assert overflow <= 0, f"the screen scrolls by {overflow} px at 1024x768"
    await expect(page.locator("[data-board] tbody tr").last).to_be_in_viewport()


async def test_an_organiser_runs_the_baselines_again_from_the_admin_page(
    settings: Settings, api: str, page: Page
) -> None:
    slug = "tumour-segmentation"  # its baseline is a zip of masks, scored by the challenge's program
    await load_challenge(settings, EXAMPLES / slug)
    await make_staff(settings, "olga", slug, StaffRole.ORGANISER)
    await drain_queue(settings)  # the worker runs the baseline through the program
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        olga = await login(http, "olga", register=False)
    page.on("dialog", lambda dialog: dialog.accept())
    await signed_in(page, api, olga)
    await page.goto(f"{api}/c/{slug}/admin")
    row = page.locator("[data-baselines] tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("threshold at 150")
    await expect(row).to_contain_text("scored")
    await page.locator("[data-baselines-rerun]").click()
    await expect(page.locator("[data-message]")).to_contain_text("queued for a worker")
    await expect(row).to_contain_text("queued")
    await expect(page.locator("[data-baselines-rerun]")).to_be_disabled()  # nothing left to run again
