"""Accounts over the API and the operator command, on SQLite and PostgreSQL."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.settings import Settings
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
    assert bad.status_code == 401 and "unknown or expired" in bad.json()["detail"]
    scheme = await client.get("/api/me", headers={"Authorization": "Basic abc"})
    assert scheme.status_code == 401 and "expected 'Bearer <token>'" in scheme.json()["detail"]


async def test_operator_creates_a_judge_from_the_command_line(
    settings: Settings, client: AsyncTestClient
) -> None:
    result = run_cli(settings, "user", "create", "judy", "--role", "judge", "--password", PASSWORD)
    assert "user judy (judge) is ready" in result.stdout
    headers = await login(client, "judy", register=False)
    assert (await client.get("/api/me", headers=headers)).json()["role"] == "judge"


async def test_health_reports_database_and_redis(client: AsyncTestClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "live_streams": 0}


async def test_openapi_schema_is_served(client: AsyncTestClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/challenges/{slug}/submissions" in paths and "/api/challenges/{slug}/leaderboard" in paths


async def test_usernames_are_unique_regardless_of_case(client: AsyncTestClient) -> None:
    await login(client, "ada")
    clash = await client.post("/api/auth/register", json={"username": "ADA", "password": PASSWORD})
    assert clash.status_code == 409 and clash.json()["detail"] == "username 'ADA' is already taken"
    signed_in = await client.post("/api/auth/token", json={"username": "Ada", "password": PASSWORD})
    assert signed_in.status_code == 200
