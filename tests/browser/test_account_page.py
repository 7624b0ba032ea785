"""My account: a team member makes an API token, sees its secret once, and revokes it, in both
languages, with the page passing axe-core."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from core.settings import Settings
from tests.browser.helpers import signed_in
from tests.browser.test_accessibility import violations
from tests.helpers import login


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_token_is_made_shown_once_and_revoked_from_the_account_page(
    settings: Settings, api: str, page: Page, lang: str
) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        ada = await login(http, "ada")
    page.on("dialog", lambda dialog: dialog.accept())
    await signed_in(page, api, ada)
    await page.goto(f"{api}/account?lang={lang}")
    await page.locator("#token-name").fill("laptop")
    await page.locator("#token-scope").select_option("submit")
    await page.locator("#token-name").press("Enter")
    secret = page.locator("[data-secret-value]")
    await expect(page.locator("[data-secret]")).to_be_visible()
    await expect(page.locator("[data-tokens] tbody tr")).to_have_count(1)
    value = await secret.input_value()
    assert value.startswith("rly_")
    assert await violations(page) == []
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        assert (await http.get("/api/me", headers={"Authorization": f"Bearer {value}"})).status_code == 200
        await page.locator("[data-tokens] tbody tr button").click()
        await expect(page.locator("[data-none]")).to_be_visible()
        assert (await http.get("/api/me", headers={"Authorization": f"Bearer {value}"})).status_code == 401
