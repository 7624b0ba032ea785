"""The tamper-evident submission record: signed receipts, one unbroken chain per challenge even under
concurrent uploads, and `riality verify` naming the first broken link after the database is edited."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, update

from core.chain import walk
from core.db import create_engine, create_sessionmaker
from core.models import StaffRole, Submission, UTCDateTime
from core.receipts import verify_receipt
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import load_challenge, login, make_staff, upload
from tests.integration.test_model_and_code import rule_predictions

SLUG = "tumour-detection"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)  # before any upload of the tests


async def edit_rows(settings: Settings, statement: object) -> None:
    """An insider with the database's password, bypassing the API."""
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.exec(statement)  # type: ignore[call-overload]
            await session.commit()
    finally:
        await engine.dispose()


async def three_uploads(settings: Settings, client: httpx.AsyncClient) -> tuple[dict[str, str], list[dict]]:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    sent = []
    for name in ("ada", "bob", "cyd"):
        response = await upload(
            client, await login(client, name), SLUG, rule_predictions(), filename=f"{name}.csv"
        )
        assert response.status_code == 202, response.text
        sent.append(response.json())
    return await login(client, "judy", register=False), sent


async def test_each_upload_returns_a_receipt_signed_with_the_published_key(
    settings: Settings, client: AsyncTestClient
) -> None:
    judy, sent = await three_uploads(settings, client)
    key = (await client.get("/api/keys/receipts")).json()
    assert key["algorithm"] == "Ed25519"
    previous = "0" * 64
    for seq, accepted in enumerate(sent, start=1):
        receipt = accepted["receipt"]
        assert (receipt["seq"], receipt["submission_id"], receipt["prev_hash"]) == (
            seq,
            accepted["id"],
            previous,
        )
        assert receipt["team"] == accepted["team"] and receipt["size"] == accepted["size"]
        assert verify_receipt(receipt, key["public_key"]) is None
        previous = receipt["hash"]
    forged = {**sent[0]["receipt"], "sha256": "f" * 64}
    assert "edited" in (verify_receipt(forged, key["public_key"]) or "")
    again = await client.get(f"/api/submissions/{sent[0]['id']}/receipt", headers=judy)
    assert again.json() == sent[0]["receipt"]
    board = (await client.get(f"/api/challenges/{SLUG}/leaderboard", headers=judy)).json()
    assert (board["record_length"], board["record_head"]) == (3, previous)


async def test_the_record_is_the_staffs_until_the_reveal(settings: Settings, client: AsyncTestClient) -> None:
    judy, sent = await three_uploads(settings, client)
    assert (await client.get(f"/api/challenges/{SLUG}/chain")).status_code == 404
    ada = await login(client, "ada", register=False)
    assert (await client.get(f"/api/challenges/{SLUG}/chain", headers=ada)).status_code == 404
    chain = (await client.get(f"/api/challenges/{SLUG}/chain", headers=judy)).json()
    assert chain["length"] == 3 and chain["head"] == sent[-1]["receipt"]["hash"]
    assert walk(chain["records"]) is None


TAMPERING = {
    "a file hash changed": (
        lambda ids: update(Submission).where(Submission.id == ids[1]).values(sha256="e" * 64),
        "record 2: its fields (file hash, size, time, team) no longer give its hash",
    ),
    "a time changed": (
        lambda ids: update(Submission).where(Submission.id == ids[1]).values(created_at=LONG_AGO),
        "record 2: its fields",
    ),
    "a record removed": (
        lambda ids: delete(Submission).where(Submission.id == ids[1]),
        "record 2: found record 3 where 2 was due: a record was removed",
    ),
}


@pytest.mark.parametrize("case", [*TAMPERING, "a back-dated row slipped in"])
async def test_riality_verify_names_the_first_broken_link(
    settings: Settings, api: str, case: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        judy, sent = await three_uploads(settings, http)
    token = judy["Authorization"].removeprefix("Bearer ")
    command = [sys.executable, "-m", "server.cli", "verify", SLUG, "--server", api, "--token", token]
    whole = await run(command)
    assert whole.returncode == 0 and "3 records, every link holds" in whole.stdout, whole.stderr
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(sent[0]["receipt"]))
    checked = await run([*command[:4], "--receipt", str(receipt), *command[5:]])
    assert checked.returncode == 0 and "signed by the server" in checked.stdout, checked.stderr
    ids = [accepted["id"] for accepted in sent]
    if case in TAMPERING:
        statement, expected = TAMPERING[case]
        await edit_rows(settings, statement(ids))
    else:  # a copy of submission 1, dated before it, with no link of its own
        expected = "record 4: submission"
        await edit_rows(settings, _back_dated_copy(ids[0]))
    broken = await run(command)
    assert broken.returncode == 1, broken.stdout
    assert f"{SLUG}: the record is broken at {expected}" in broken.stderr


async def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)


def _back_dated_copy(submission_id: int) -> object:
    from sqlalchemy import insert, literal, select

    columns = [
        c
        for c in Submission.__table__.columns
        if c.name not in ("id", "idempotency_key", "chain_seq", "chain_prev", "chain_hash")
    ]  # type: ignore[attr-defined]
    dated = [literal(LONG_AGO, UTCDateTime()).label(c.name) if c.name == "created_at" else c for c in columns]
    source = select(*dated).where(Submission.id == submission_id)
    return insert(Submission).from_select([c.name for c in columns], source)


async def test_fifty_concurrent_uploads_form_one_unbroken_chain(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    people = [await login(client, f"team{i:02d}") for i in range(10)]
    data = rule_predictions()
    responses = await asyncio.gather(
        *(upload(client, people[i % 10], SLUG, data, filename=f"{i}.csv") for i in range(50))
    )
    assert [r.status_code for r in responses] == [202] * 50
    judy = await login(client, "judy", register=False)
    chain = (await client.get(f"/api/challenges/{SLUG}/chain", headers=judy)).json()
    assert chain["length"] == 50 and walk(chain["records"]) is None
    assert sorted(r.json()["receipt"]["seq"] for r in responses) == list(range(1, 51))


async def test_the_migration_links_existing_submissions_in_the_order_they_came(
    settings: Settings, client: AsyncTestClient
) -> None:
    """Submissions made before the record existed join it as if it had: the same links as now."""
    from core.migrate import downgrade, upgrade

    judy, _ = await three_uploads(settings, client)
    before = (await client.get(f"/api/challenges/{SLUG}/chain", headers=judy)).json()
    await asyncio.to_thread(downgrade, settings.database, "0006")
    await asyncio.to_thread(upgrade, settings.database)
    after = (await client.get(f"/api/challenges/{SLUG}/chain", headers=judy)).json()
    assert after == before and walk(after["records"]) is None
