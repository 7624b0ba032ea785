"""Accounts over the API and the operator command, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.settings import Settings
from server.app import create_app
from tests.conftest import run_cli
from tests.helpers import PASSWORD, login


async def test_register_sign_in_and_read_me(client: AsyncTestClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"username": "ada", "password": PASSWORD, "email": "ada@example.org"}
    )
    assert response.status_code == 201
    assert response.json() == {"id": 1, "username": "ada", "role": "participant"}
    headers = await login(client, "ada", register=False)
    me = await client.get("/api/me", headers=headers)
    assert me.json()["username"] == "ada" and "password" not in me.text


async def test_wrong_password_and_unknown_user_are_refused_alike(client: AsyncTestClient) -> None:
    await login(client, "ada")
    wrong = await client.post("/api/auth/token", json={"username": "ada", "password": "nope-nope-nope"})
    unknown = await client.post("/api/auth/token", json={"username": "bob", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}


async def test_registration_errors_say_what_was_expected(client: AsyncTestClient) -> None:
    await login(client, "ada")
    taken = await client.post("/api/auth/register", json={"username": "ada", "password": PASSWORD})
    assert (taken.status_code, taken.json()["detail"]) == (409, "username 'ada' is already taken")
    short = await client.post("/api/auth/register", json={"username": "bob", "password": "short"})
    assert (short.status_code, short.json()["detail"]) == (400, "password: expected at least 8 characters")
    bad = await client.post("/api/auth/register", json={"username": "b b", "password": PASSWORD})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("username: expected 3 to 40 characters")
    missing = await client.post("/api/auth/register", json={"username": "carol"})
    assert missing.status_code == 400 and "password" in missing.text


async def test_me_needs_a_valid_token(client: AsyncTestClient) -> None:
    assert (await client.get("/api/me")).status_code == 401
    bad = await client.get("/api/me", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401 and "unknown, expired or revoked" in bad.json()["detail"]
    scheme = await client.get("/api/me", headers={"Authorization": "Basic abc"})
    assert scheme.status_code == 401 and "expected 'Bearer <token>'" in scheme.json()["detail"]


async def test_operator_creates_an_organiser_from_the_command_line(
    settings: Settings, client: AsyncTestClient
) -> None:
    result = run_cli(settings, "user", "create", "olga", "--role", "organiser", "--password", PASSWORD)
    assert "user olga (organiser) is ready" in result.stdout
    headers = await login(client, "olga", register=False)
    assert (await client.get("/api/me", headers=headers)).json()["role"] == "organiser"
    refused = run_cli(
        settings, "user", "create", "judy", "--role", "judge", "--password", PASSWORD, check=False
    )
    assert refused.returncode == 2 and "invalid choice: 'judge'" in refused.stderr


async def test_health_reports_database_and_redis(client: AsyncTestClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "live_streams": 0,
        "workers": [],
    }


async def test_openapi_schema_is_served(client: AsyncTestClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/challenges/{slug}/submissions" in paths and "/api/challenges/{slug}/leaderboard" in paths


async def test_usernames_are_unique_regardless_of_case(client: AsyncTestClient) -> None:
    await login(client, "ada")
    clash = await client.post("/api/auth/register", json={"username": "ADA", "password": PASSWORD})
    assert clash.status_code == 409 and clash.json()["detail"] == "username 'ADA' is already taken"
    signed_in = await client.post("/api/auth/token", json={"username": "Ada", "password": PASSWORD})
    assert signed_in.status_code == 200


async def test_sign_out_revokes_the_token_and_only_that_one(client: AsyncTestClient) -> None:
    first = await login(client, "ada")
    second = await login(client, "ada", register=False)
    assert (await client.post("/api/auth/logout", headers=first)).status_code == 204
    assert (await client.get("/api/me", headers=first)).status_code == 401
    assert (await client.get("/api/me", headers=second)).status_code == 200
    assert (await client.post("/api/auth/logout")).status_code == 401


async def test_an_operator_password_reset_revokes_every_token(
    settings: Settings, client: AsyncTestClient
) -> None:
    headers = await login(client, "ada")
    run_cli(settings, "user", "create", "ada", "--password", "a-brand-new-password")
    assert (await client.get("/api/me", headers=headers)).status_code == 401
    fresh = await client.post("/api/auth/token", json={"username": "ada", "password": "a-brand-new-password"})
    assert fresh.status_code == 200


async def test_changing_ones_password_needs_the_current_one_and_revokes_every_token(
    client: AsyncTestClient,
) -> None:
    headers = await login(client, "ada")
    other = await login(client, "ada", register=False)
    wrong = await client.post(
        "/api/me/password",
        json={"current_password": "not-it-at-all", "new_password": "x" * 12},
        headers=headers,
    )
    assert wrong.status_code == 401 and wrong.json()["detail"] == "current_password: wrong password"
    short = await client.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=headers
    )
    assert (
        short.status_code == 400 and short.json()["detail"] == "new_password: expected at least 8 characters"
    )
    changed = await client.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "x" * 12}, headers=headers
    )
    assert changed.status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 401
    assert (await client.get("/api/me", headers=other)).status_code == 401
    again = await client.post("/api/auth/token", json={"username": "ada", "password": "x" * 12})
    assert again.status_code == 200


async def test_failed_sign_ins_lock_the_account_for_the_window(settings: Settings) -> None:
    limited = settings.with_(login_failures_per_account=3)
    async with AsyncTestClient(app=create_app(limited)) as client:
        await login(client, "ada")
        await login(client, "bob")
        for _ in range(3):
            wrong = await client.post("/api/auth/token", json={"username": "ADA", "password": "guess-guess"})
            assert wrong.status_code == 401
        locked = await client.post("/api/auth/token", json={"username": "ada", "password": PASSWORD})
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= settings.login_window_s
        assert "too many failed sign-ins for this account" in locked.json()["detail"]
        # Another account from the same address is not locked by it.
        assert (
            await client.post("/api/auth/token", json={"username": "bob", "password": PASSWORD})
        ).status_code == 200


async def test_failed_sign_ins_are_limited_per_address(settings: Settings) -> None:
    limited = settings.with_(login_failures_per_address=4)
    async with AsyncTestClient(app=create_app(limited)) as client:
        await login(client, "ada")
        for name in ("u1", "u2", "u3", "u4"):  # one guess at each of many accounts
            guess = await client.post("/api/auth/token", json={"username": name, "password": "guess-guess"})
            assert guess.status_code == 401
        blocked = await client.post("/api/auth/token", json={"username": "ada", "password": PASSWORD})
        assert blocked.status_code == 429 and "from your address" in blocked.json()["detail"]
        assert int(blocked.headers["retry-after"]) >= 1


async def test_registrations_are_limited_per_address(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings.with_(registrations_per_address=2))) as client:
        for name in ("ada", "bob"):
            response = await client.post("/api/auth/register", json={"username": name, "password": PASSWORD})
            assert response.status_code == 201
        third = await client.post("/api/auth/register", json={"username": "carol", "password": PASSWORD})
        assert third.status_code == 429 and "too many registrations" in third.json()["detail"]
        assert "retry-after" in third.headers


async def test_concurrent_guesses_check_no_more_passwords_than_the_limit(
    settings: Settings, api: str
) -> None:
    """Each attempt is counted as it is checked: 40 guesses at once against a limit of 10 had 17
    passwords checked when the count came after the hashing. A real API process: real concurrency."""
    assert settings.login_failures_per_account == 10
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:
        await login(client, "ada")
        guesses = await asyncio.gather(
            *(
                client.post("/api/auth/token", json={"username": "ada", "password": f"guess-{n:04d}"})
                for n in range(40)
            )
        )
    codes = sorted(g.status_code for g in guesses)
    assert codes.count(401) == 10 and codes.count(429) == 30, codes


async def test_a_guesser_locks_its_own_address_not_the_owner_elsewhere(clean_redis: str) -> None:
    """Past the account's limit, an address that failed on it is refused; the owner from another
    address may still sign in, until the ceiling over every address."""
    from redis.asyncio import Redis

    from server.errors import RateLimited
    from server.services.throttle import CEILING_FACTOR, Rule, Throttle

    account = Rule("login-account", 3, 900, "too many failed sign-ins for this account")
    address = Rule("login-address", 1000, 900, "too many failed sign-ins from your address")
    throttle = Throttle(Redis.from_url(clean_redis))
    try:
        for _ in range(3):
            await throttle.reserve(account, address, "ada", "10.0.0.66")  # wrong passwords: never settled
        with pytest.raises(RateLimited, match="for this account"):
            await throttle.reserve(account, address, "ada", "10.0.0.66")
        owner = await throttle.reserve(account, address, "ada", "192.0.2.7")  # not refused
        await throttle.settle(owner)  # the right password: the account's failures are forgiven
        await throttle.reserve(account, address, "ada", "10.0.0.66")
        # Many fresh addresses, each failing once: the ceiling stops them all.
        for n in range(3 * CEILING_FACTOR - 1):
            await throttle.reserve(account, address, "ada", f"198.51.100.{n}")
        with pytest.raises(RateLimited, match="for this account"):
            await throttle.reserve(account, address, "ada", "203.0.113.1")
    finally:
        await throttle.close()
