"""Accessibility: every page passes axe-core's WCAG 2.x A/AA rules in both languages, and the team and
judge pages can be used with the keyboard alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import axe_playwright_python
import httpx
import pytest
from playwright.async_api import FileChooser, Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from core.models import StaffRole
from core.settings import Settings
from tests.browser.helpers import signed_in
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, upload
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@dataclass
class Contest:
    participant: dict[str, str]  # bearer headers
    judge: dict[str, str]
    scored: int  # submission ids
    failed: int


async def violations(page: Page) -> list[str]:
    """axe-core's findings on the page as it is now, one readable line each."""
    await page.evaluate(AXE)
    result = await page.evaluate("rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", RULES)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]


async def contest(settings: Settings, api: str) -> Contest:
    """A challenge with a scored and a failed submission from ada, and a judge."""
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        ada = await login(http, "ada")
        ids = []
        for body in (csv_bytes(tumour_predictions()[0]), b"id,diagnosis\nnope,1\n"):
            sent = await upload(http, ada, SLUG, body)
            assert sent.status_code == 202, sent.text
            ids.append(sent.json()["id"])
        judge = await login(http, "judy", register=False)
    await drain_queue(settings)
    return Contest(
        participant=ada,
        judge=judge,
        scored=ids[0],
        failed=ids[1],
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_every_page_passes_the_axe_rules(settings: Settings, api: str, page: Page, lang: str) -> None:
    people = await contest(settings, api)
    refused: list[
        str
    ] = []  # anything the Content-Security-Policy blocked: a page that relies on it is broken
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    found: dict[str, list[str]] = {}
    for path in ["/", f"/c/{SLUG}", f"/c/{SLUG}/screen", "/login", "/register"]:
        await page.goto(f"{api}{path}?lang={lang}")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        found[path] = await violations(page)
    await signed_in(page, api, people.participant)
    await page.goto(f"{api}/c/{SLUG}/team?lang={lang}")
    await expect(page.locator(f'tr[data-submission="{people.failed}"] details')).to_be_visible()
    await page.locator(f'tr[data-submission="{people.failed}"] summary').click()
    found["team"] = await violations(page)
    await signed_in(page, api, people.judge)
    await page.goto(f"{api}/c/{SLUG}/judge?lang={lang}")
    await page.locator(
        '[data-judge-board="private"] tr[data-team="ada"] button[data-key^="private-"]'
    ).click()
    await expect(page.locator("[data-judge-details]")).not_to_be_empty()
    found["judge"] = await violations(page)
    assert {path: problems for path, problems in found.items() if problems} == {}
    assert refused == []


async def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` has the focus, and check the focus can be seen; fail if it never gets there."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            outline = await target.evaluate(
                "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth"
            )
            assert not outline.startswith("none") and not outline.endswith(" 0px"), (
                f"focus not visible: {outline}"
            )
            return
    pytest.fail(f"{target} is not reachable with Tab within {limit} presses")


async def chooser_from_keyboard(page: Page, file_input: Locator) -> FileChooser:
    """Space on the focused file input opens the file chooser. Under a loaded CI host, Chromium once
    let a press pass without opening it: a few presses are allowed, the focus checked before each."""
    for _ in range(3):
        assert await file_input.evaluate("el => el === document.activeElement"), (
            "the file input lost the focus"
        )
        try:
            async with page.expect_file_chooser(timeout=10_000) as chooser:
                await page.keyboard.press("Space")
            return await chooser.value
        except PlaywrightTimeoutError:
            continue
    pytest.fail("Space on the focused file input never opened the file chooser")


async def test_the_first_tab_offers_to_skip_to_the_content(settings: Settings, api: str, page: Page) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await page.goto(f"{api}/c/{SLUG}")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile("#main$"))


async def test_a_team_forms_submits_and_picks_a_final_with_the_keyboard_alone(
    settings: Settings, api: str, page: Page, tmp_path: Path
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        headers = await login(http, "cyrille")
    await signed_in(page, api, headers)
    await page.goto(f"{api}/c/{SLUG}/team")
    await expect(page.locator("[data-team-none]")).to_be_visible()

    await tab_to(page, page.get_by_label("Team name"))
    await page.keyboard.type("Les Calanques")
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-team-name]")).to_have_text("Les Calanques")
    await expect(page.locator("[data-team-code]")).not_to_be_empty()

    predictions = tmp_path / "predictions.csv"
    predictions.write_bytes(csv_bytes(tumour_predictions()[0]))
    file_input = page.get_by_label("File (")
    await tab_to(page, file_input)
    await (await chooser_from_keyboard(page, file_input)).set_files(str(predictions))
    await tab_to(page, page.get_by_label("Note (optional)"))
    await page.keyboard.type("typed, not clicked")
    await tab_to(page, page.get_by_role("button", name="Upload"))
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-upload-message]")).to_have_text("Received: submission 1 is queued.")
    await drain_queue(settings)
    await expect(page.locator('tr[data-submission="1"] [data-status]')).to_have_text("scored", timeout=5000)
    await expect(page.locator("[data-announcer]")).to_have_text(
        "Submission 1: scored"
    )  # said, not only shown

    final = page.get_by_role("checkbox", name="Submission 1 is a final selection")
    await tab_to(page, final)
    await page.keyboard.press("Space")
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for _ in range(100):
            if (await http.get("/api/submissions/1", headers=headers)).json()["final"]:
                break
            await page.wait_for_timeout(50)
        assert (await http.get("/api/submissions/1", headers=headers)).json()["final"] is True
    await page.wait_for_timeout(300)  # the list is drawn again after the change
    await expect(final).to_be_checked()
    await expect(final).to_be_focused()  # the redraw kept the keyboard user's place


async def test_a_judge_opens_a_submission_with_the_keyboard_alone(
    settings: Settings, api: str, page: Page
) -> None:
    people = await contest(settings, api)
    await signed_in(page, api, people.judge)
    await page.goto(f"{api}/c/{SLUG}/judge?lang=fr")
    show = page.locator('[data-judge-board="private"] tr[data-team="ada"]').get_by_role(
        "button", name=f"{people.scored}"
    )
    await expect(show).to_be_visible()
    await tab_to(page, show)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Détails de la soumission")).to_be_focused()
    details = page.locator("[data-judge-details]")
    await expect(details.locator("dt").first).to_have_text("Soumission")
    await expect(details).to_contain_text("Score privé")
