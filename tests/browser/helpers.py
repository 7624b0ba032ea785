"""What the browser tests share: signing the page in as the API would."""

from __future__ import annotations

from playwright.async_api import Page


async def signed_in(page: Page, api: str, headers: dict[str, str]) -> None:
    """Sign the page in with the bearer headers of `tests.helpers.login`, as the sign-in form does."""
    await page.goto(f"{api}/login")
    token = headers["Authorization"].removeprefix("Bearer ")
    await page.evaluate("token => localStorage.setItem('riality.token', token)", token)
