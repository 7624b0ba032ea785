"""The pages in a real headless Chromium (Debian's), driven by Playwright, against a real API process."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update
from sqlmodel import col

from core.db import create_engine, create_sessionmaker
from core.models import StaffRole, Submission
from core.settings import Settings
from tests.browser.helpers import signed_in
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import (
    PASSWORD,
    announce_sandbox_worker,
    csv_bytes,
    drain_queue,
    load_challenge,
    login,
    make_staff,
    upload,
)
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
ARTEFACTS = ROOT / "tests" / "artefacts"


async def test_spectator_sees_a_new_score_without_reloading(settings: Settings, api: str, page: Page) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await page.goto(f"{api}/c/{SLUG}")
    await expect(page.locator("[data-live]")).to_have_text("Updates live")
    await expect(page.locator("tr.empty")).to_be_visible()
    page.on(
        "framenavigated", lambda frame: pytest.fail("the page reloaded") if frame == page.main_frame else None
    )
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        sent = await upload(http, await login(http, "ada"), SLUG, csv_bytes(tumour_predictions()[0]))
        assert sent.status_code == 202
    await drain_queue(settings)  # the score is written and published when this returns
    row = page.locator('tr[data-team="ada"]')
    await expect(row).to_be_visible(timeout=2000)
    await expect(row).to_have_class(re.compile(r"\bchanged\b"))  # also "tied" (with itself) once a pass ran
    await expect(row.locator("td").nth(1)).to_have_text(f"{tumour_predictions()[1]:.4f}")
    # The example's baseline scores as much (the same rule): drawn after the entry, unranked.
    baseline = page.locator("[data-board] tbody tr").nth(1)
    await expect(baseline).to_have_attribute("data-baseline", "one-feature logistic regression")
    await expect(baseline.locator("td").first).to_have_text("–")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(
        path=str(ARTEFACTS / f"board-{settings.database.split(':')[0]}.png"), full_page=True
    )
    screen = await page.context.new_page()
    await screen.goto(f"{api}/c/{SLUG}/screen")
    await expect(screen.locator('tr[data-team="ada"]')).to_be_visible()


async def test_language_switch_changes_the_page(settings: Settings, api: str, page: Page) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await page.goto(f"{api}/c/{SLUG}")
    await expect(page.locator("h2#overview")).to_have_text("Overview")
    await page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()
    await expect(page.locator("h2#overview")).to_have_text("Présentation")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await page.goto(f"{api}/")  # the choice is remembered
    await expect(page.locator("h1")).to_have_text("Défis")


async def test_register_and_sign_in_with_the_keyboard(settings: Settings, api: str, page: Page) -> None:
    await page.goto(f"{api}/register")
    await page.get_by_label("Username").fill("bea")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-message]")).to_have_text("Account created; you can sign in.")
    await page.wait_for_url(f"{api}/login")
    await page.get_by_label("Username").fill("bea")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{api}/")
    assert await page.evaluate("localStorage.getItem('riality.token')")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def test_sign_out_revokes_the_token_on_the_server(settings: Settings, api: str, page: Page) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        headers = await login(http, "bea")
        await signed_in(page, api, headers)
        await page.goto(f"{api}/")
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{api}/")
        await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        assert await page.evaluate("localStorage.getItem('riality.token')") is None
        assert (await http.get("/api/me", headers=headers)).status_code == 401


def test_artefact_folder_is_ignored_by_git() -> None:
    assert "tests/artefacts/" in (ROOT / ".gitignore").read_text()


async def test_team_uploads_through_the_form_and_sees_it_scored(
    settings: Settings, api: str, page: Page, tmp_path: Path
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        await signed_in(page, api, await login(http, "ada"))
    await page.goto(f"{api}/c/{SLUG}/team")
    await expect(page.locator("[data-team-none]")).to_be_visible()
    predictions = tmp_path / "predictions.csv"
    predictions.write_bytes(csv_bytes(tumour_predictions()[0]))
    await page.get_by_label("File (").set_input_files(str(predictions))
    await page.get_by_label("Note (optional)").fill("from the browser")
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("[data-upload-message]")).to_have_text("Received: submission 1 is queued.")
    status = page.locator('tr[data-submission="1"] [data-status]')
    await expect(status).to_have_text("queued")
    await drain_queue(settings)
    await expect(status).to_have_text("scored", timeout=5000)
    await expect(page.locator('tr[data-submission="1"] td').nth(4)).to_have_text(
        f"{tumour_predictions()[1]:.4f}"
    )
    await expect(page.locator("[data-team-name]")).to_have_text("ada")  # the solo team the upload created


async def test_progress_chart_names_the_teams(settings: Settings, api: str) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        empty = await http.get(f"/c/{SLUG}/progress.svg")
        assert (
            empty.headers["content-type"].startswith("image/svg+xml")
            and "No scored submission yet." in empty.text
        )
        await upload(http, await login(http, "ada"), SLUG, csv_bytes(tumour_predictions()[0]))
        await drain_queue(settings)
        chart = (await http.get(f"/c/{SLUG}/progress.svg", headers={"Accept-Language": "fr"})).text
    assert "<polyline" in chart and "ada" in chart and "Meilleur score public" in chart


async def test_judge_sees_the_private_board_and_a_submission_behind_it(
    settings: Settings, api: str, page: Page
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        ada = await login(http, "ada")
        await upload(http, ada, SLUG, csv_bytes(tumour_predictions()[0]), note="radius rule")
        judy = await login(http, "judy", register=False)
    await drain_queue(settings)
    await signed_in(page, api, ada)
    await page.goto(f"{api}/c/{SLUG}/judge")
    await expect(page.locator("[data-judge-denied]")).to_be_visible()  # a participant is turned away
    await signed_in(page, api, judy)
    await page.goto(f"{api}/c/{SLUG}/judge")
    private_row = page.locator('[data-judge-board="private"] tr[data-team="ada"]')
    await expect(private_row).to_be_visible()
    await private_row.get_by_role("button", name="Show submission 1").click()
    details = page.locator("[data-judge-details]")
    await expect(details).to_contain_text("radius rule")
    await expect(details).to_contain_text("private")


async def test_judges_boards_follow_new_scores_without_reloading(
    settings: Settings, api: str, page: Page
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        await signed_in(page, api, await login(http, "judy", register=False))
        await page.goto(f"{api}/c/{SLUG}/judge")
        await expect(page.locator("[data-judge-content]")).to_be_visible()
        sent = await upload(http, await login(http, "ada"), SLUG, csv_bytes(tumour_predictions()[0]))
        assert sent.status_code == 202
    await drain_queue(settings)
    for board in ("private", "public"):
        await expect(page.locator(f'[data-judge-board="{board}"] tr[data-team="ada"]')).to_be_visible(
            timeout=2000
        )


async def test_the_api_viewer_works_offline_under_the_policy(
    settings: Settings, api: str, page: Page
) -> None:
    """/schema draws every operation with local files only, and the CSP blocks nothing it needs."""
    elsewhere: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((api, "data:")) else None)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(f"{api}/schema")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("riality")
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/challenges/{slug}/submissions").first
    ).to_be_visible()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / "api-viewer.png"))
    assert elsewhere == [] and refused == []


async def _record_runs(settings: Settings, usage: dict[int, tuple[float, float, float]]) -> None:
    """Give scored submissions the figures a sandbox run records (wall, CPU, peak memory): the
    sorting under test is the page's; the worker's recording is tested with real runs elsewhere."""
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            for submission_id, (wall, cpu, peak) in usage.items():
                await session.exec(
                    update(Submission)  # type: ignore[call-overload]
                    .where(col(Submission.id) == submission_id)
                    .values(wall_s=wall, cpu_s=cpu, peak_memory_mb=peak)
                )
            await session.commit()
    finally:
        await engine.dispose()


async def test_the_board_sorts_by_what_runs_used_and_back_to_rank(
    settings: Settings, api: str, page: Page
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)  # accepts models and code: the columns are shown
    predictions = tumour_predictions()[0]
    sent = {}
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for n, name in enumerate(["ada", "bob", "cyd"]):  # ranked in this order
            body = csv_bytes(predictions.assign(diagnosis=(predictions["diagnosis"] * (1 - n / 10)).round(6)))
            sent[name] = (await upload(http, await login(http, name), SLUG, body)).json()["id"]
    await drain_queue(settings)
    await _record_runs(
        settings, {sent["ada"]: (9.0, 30.0, 400.0), sent["bob"]: (2.0, 5.0, 900.0)}
    )  # cyd: none
    await page.goto(f"{api}/c/{SLUG}")
    await expect(page.locator("[data-live]")).to_have_text("Updates live")  # the snapshot is in
    rows = page.locator("[data-board] tbody tr")
    await expect(rows.first).to_contain_text("30.0 s")
    cpu = page.get_by_role("button", name="CPU time")
    await cpu.click()
    await expect(rows.nth(0)).to_have_attribute("data-team", "bob")
    await expect(rows.nth(2)).to_have_attribute("data-team", "cyd")  # no run: last, either way
    await expect(page.locator("th", has=cpu)).to_have_attribute("aria-sort", "ascending")
    await cpu.click()
    await expect(rows.nth(0)).to_have_attribute("data-team", "ada")
    await expect(page.locator("th", has=cpu)).to_have_attribute("aria-sort", "descending")
    await page.get_by_role("button", name="Peak memory").click()
    await expect(rows.nth(0)).to_have_attribute("data-team", "ada")  # 400 MB before 900 MB
    await page.get_by_role("button", name="Peak memory").click()
    await page.get_by_role("button", name="Peak memory").click()  # third press: back to rank order
    await expect(rows.nth(0)).to_have_attribute("data-team", "ada")
    await expect(rows.nth(1)).to_have_attribute("data-team", "bob")
    await expect(page.locator("th", has=cpu)).to_have_attribute("aria-sort", "none")


async def test_team_uploads_masks_and_reads_the_programs_detailed_results(
    settings: Settings, api: str, page: Page, tmp_path: Path
) -> None:
    from tests.integration.test_scoring_program import _masks_zip, _truth

    slug = "tumour-segmentation"
    await load_challenge(settings, EXAMPLES / slug)
    await announce_sandbox_worker(settings)  # the drain below runs it: uploads needing Docker are taken
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        await signed_in(page, api, await login(http, "ada"))
    await page.goto(f"{api}/c/{slug}/team")
    masks = tmp_path / "masks.zip"
    masks.write_bytes(_masks_zip(_truth()[0]))
    await page.get_by_label("File (any file, or a zip of files").set_input_files(str(masks))
    await expect(page.locator("#upload-kind")).to_have_count(0)  # one kind: nothing to choose
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("[data-upload-message]")).to_have_text("Received: submission 1 is queued.")
    await drain_queue(settings)
    row = page.locator('tr[data-submission="1"]')
    await expect(row.locator("[data-status]")).to_have_text("scored", timeout=10000)
    await expect(row.locator("td").nth(4)).to_have_text("1.0000")  # the right masks
    await row.get_by_text("Detailed results").click()
    frame = row.locator("iframe.results")
    await expect(frame).to_have_attribute("sandbox", "")
    await expect(frame.content_frame.get_by_role("heading", name="Public images")).to_be_visible()


async def test_each_phase_has_its_board_on_the_page_and_for_the_judges(
    settings: Settings, api: str, page: Page
) -> None:
    """The port-logistics example runs in two phases: the page and the judges' boards show the current
    one, and the other on demand."""
    port = "smartport-vessel-delay"
    await load_challenge(settings, EXAMPLES / port)
    await make_staff(settings, "judy", port, StaffRole.JUDGE)
    mean = (EXAMPLES / port / "baselines" / "mean delay.csv").read_bytes()
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        sent = await upload(http, await login(http, "ada"), port, mean, filename="mean.csv")
        assert sent.status_code == 202, sent.text
        judy = await login(http, "judy", register=False)
    await drain_queue(settings)
    await page.goto(f"{api}/c/{port}")
    phases = page.get_by_role("navigation", name="Phases")
    await expect(phases.get_by_role("link", name="Development")).to_have_attribute("aria-current", "page")
    await expect(page.locator('table[data-board] tr[data-team="ada"]')).to_be_visible()
    await phases.get_by_role("link", name="Final").click()
    await expect(page).to_have_url(re.compile(r"\?phase=final$"))
    await expect(page.locator('table[data-board] tr[data-team="ada"]')).to_have_count(0)

    await signed_in(page, api, judy)
    await page.goto(f"{api}/c/{port}/judge")
    chooser = page.get_by_label("Phases")
    await expect(chooser).to_have_value("development")
    private = page.locator('[data-judge-board="private"] tr[data-team="ada"]')
    await expect(private).to_be_visible()
    await chooser.select_option("final")
    await expect(private).to_have_count(0)
    await chooser.select_option("development")
    await expect(private).to_be_visible()
