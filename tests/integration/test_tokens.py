"""Personal API tokens: shown once, stored hashed, scoped, revocable, expiring, their last use recorded."""

from __future__ import annotations

from datetime import timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from core.db import create_engine, create_sessionmaker
from core.models import Token, utcnow
from core.settings import Settings
from server.services.accounts import token_digest
from tests.conftest import EXAMPLES
from tests.helpers import load_challenge, login, upload
from tests.integration.test_model_and_code import rule_predictions

SLUG = "tumour-detection"


async def new_token(client: AsyncTestClient, headers: dict[str, str], **body: object) -> dict:
    response = await client.post("/api/me/tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_token_is_shown_once_and_stored_as_a_hash(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada = await login(client, "ada")
    created = await new_token(client, ada, name="laptop", scope="submit")
    assert created["token"].startswith("rly_") and created["scope"] == "submit"
    listed = (await client.get("/api/me/tokens", headers=ada)).json()
    assert [(t["name"], t["scope"], t["last_used_at"]) for t in listed] == [("laptop", "submit", None)]
    assert "token" not in listed[0]
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(Token, created["id"])
            assert row is not None and row.token_hash == token_digest(created["token"])
            assert created["token"] not in str(row.model_dump())
    finally:
        await engine.dispose()
    assert (await client.get("/api/me", headers=bearer(created["token"]))).json()["username"] == "ada"
    used = (await client.get("/api/me/tokens", headers=ada)).json()[0]["last_used_at"]
    assert used is not None


async def test_a_read_token_reads_but_cannot_submit(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    ada = await login(client, "ada")
    read = bearer((await new_token(client, ada, name="dashboard"))["token"])  # read is the default
    assert (await client.get(f"/api/challenges/{SLUG}/leaderboard", headers=read)).status_code == 200
    refused = await upload(client, read, SLUG, rule_predictions(), filename="rule.csv")
    assert refused.status_code == 403, refused.text
    assert "this API token's scope is 'read': it may not POST" in refused.json()["detail"]
    team = await client.post(f"/api/challenges/{SLUG}/teams", json={"name": "Readers"}, headers=read)
    assert team.status_code == 403, team.text


async def test_a_submit_token_submits_but_cannot_manage_the_account(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    ada = await login(client, "ada")
    submit = bearer((await new_token(client, ada, name="training script", scope="submit"))["token"])
    sent = await upload(client, submit, SLUG, rule_predictions(), filename="rule.csv")
    assert sent.status_code == 202, sent.text
    minted = await client.post("/api/me/tokens", json={"name": "more"}, headers=submit)
    assert minted.status_code == 403
    changed = await client.post(
        "/api/me/password", json={"current_password": "x" * 8, "new_password": "y" * 12}, headers=submit
    )
    assert changed.status_code == 403


async def test_a_revoked_or_expired_token_gets_401(settings: Settings, client: AsyncTestClient) -> None:
    ada = await login(client, "ada")
    bob = await login(client, "bob")
    first = await new_token(client, ada, name="one")
    second = await new_token(client, ada, name="two", expires_at=(utcnow() + timedelta(days=30)).isoformat())
    assert (await client.delete(f"/api/me/tokens/{first['id']}", headers=bob)).status_code == 404  # not bob's
    assert (await client.delete(f"/api/me/tokens/{first['id']}", headers=ada)).status_code == 204
    revoked = await client.get("/api/me", headers=bearer(first["token"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert (await client.get("/api/me", headers=bearer(second["token"]))).status_code == 200
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            past = utcnow() - timedelta(seconds=1)
            await session.exec(update(Token).where(Token.id == second["id"]).values(expires_at=past))  # type: ignore[call-overload]
            await session.commit()
    finally:
        await engine.dispose()
    assert (await client.get("/api/me", headers=bearer(second["token"]))).status_code == 401


async def test_a_token_request_is_checked(client: AsyncTestClient) -> None:
    ada = await login(client, "ada")
    for body, where in (
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "x", "expires_at": (utcnow() - timedelta(days=1)).isoformat()}, "expires_at"),
        ({"name": "x", "expires_at": (utcnow() + timedelta(days=400)).isoformat()}, "expires_at"),
        ({"name": ""}, "name"),
    ):
        refused = await client.post("/api/me/tokens", json=body, headers=ada)
        assert refused.status_code == 400, (body, refused.text)
        assert where in refused.text


async def test_revoking_a_token_id_beyond_any_row_is_404_not_500(client: AsyncTestClient) -> None:
    """Found by the schema fuzzer on PostgreSQL, whose integer ids stop at 2**31 - 1."""
    ada = await login(client, "ada")
    for token_id in (2**46, 2**31, 0):
        response = await client.delete(f"/api/me/tokens/{token_id}", headers=ada)
        assert response.status_code == 404, (token_id, response.text)


async def test_tokens_are_listed_after_signing_in_only(settings: Settings, client: AsyncTestClient) -> None:
    """A read-scoped token could list every token of its account (names, scopes, last uses)."""
    ada = await login(client, "ada")
    for scope in ("read", "submit"):
        token = bearer((await new_token(client, ada, name=f"{scope} script", scope=scope))["token"])
        listed = await client.get("/api/me/tokens", headers=token)
        assert listed.status_code == 403 and "after signing in with a password" in listed.json()["detail"]
    assert len((await client.get("/api/me/tokens", headers=ada)).json()) == 2


async def test_a_revoked_tokens_id_is_never_given_to_the_next(
    settings: Settings, client: AsyncTestClient
) -> None:
    """On SQLite the next token took the id of the one revoked last: a stale revoke of that id would
    have revoked the new token."""
    ada = await login(client, "ada")
    first = await new_token(client, ada, name="old laptop")
    assert (await client.delete(f"/api/me/tokens/{first['id']}", headers=ada)).status_code == 204
    second = await new_token(client, ada, name="new laptop")
    assert second["id"] > first["id"]
    assert (await client.delete(f"/api/me/tokens/{first['id']}", headers=ada)).status_code == 404
    assert (await client.get("/api/me", headers=bearer(second["token"]))).status_code == 200
