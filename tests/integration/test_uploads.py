"""Uploads refused from their headers before the body is read, no file kept for a refused upload,
idempotent retries, and the sweep of stored files nothing references."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from core.blobs import sweep_orphans
from core.db import create_engine, create_sessionmaker
from core.models import Submission
from core.settings import Settings
from core.storage import INCOMING_PREFIX, BlobStore
from tests.helpers import csv_bytes, load_challenge, login, upload
from tests.integration.test_submissions import SLUG, TUMOUR, _with, tumour_predictions


async def _status_before_the_body(base: str, path: str, headers: dict[str, str]) -> int:
    """Send a request that announces 50 MB but sends none of it: only an answer from the headers comes back."""
    address = urlsplit(base)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {address.netloc}",
            "Content-Type: multipart/form-data; boundary=x",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        return int(status_line.split()[1])
    finally:
        writer.close()


def _files(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*") if p.is_file())


async def test_uploads_condemned_by_their_headers_are_refused_before_the_body(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    import httpx

    await load_challenge(settings, _with(tmp_path / "a", limits={"per_day": 1, "upload_mb": 1}))
    await load_challenge(
        settings,
        _with(
            tmp_path / "b",
            slug="closed-one",
            schedule={"opens": "2020-01-01T00:00:00Z", "closes": "2020-02-01T00:00:00Z"},
        ),
    )
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        headers = await login(http, "ada")
        assert (await upload(http, headers, SLUG, csv_bytes(tumour_predictions()[0]))).status_code == 202
    big = {"Content-Length": str(50 * 2**20)}
    path = f"/api/challenges/{SLUG}/submissions"
    assert await _status_before_the_body(api, path, big) == 401
    assert (
        await _status_before_the_body(api, "/api/challenges/closed-one/submissions", {**big, **headers})
        == 403
    )
    assert await _status_before_the_body(api, path, {**big, **headers}) == 413  # over the challenge's 1 MB
    assert await _status_before_the_body(api, path, {"Content-Length": "2000", **headers}) == 429
    assert await _status_before_the_body(api, path, {"Transfer-Encoding": "chunked", **headers}) == 411


async def test_refused_uploads_keep_no_file(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 2, "upload_mb": 0.05}))
    before = _files(settings.blobs_dir)
    headers = await login(client, "ada")
    data = csv_bytes(tumour_predictions()[0])
    # Twenty different files at once for a quota of two: the losers are refused under the team's lock.
    variants = [data + f"\n# {i}\n".encode() for i in range(20)]
    responses = await asyncio.gather(*(upload(client, headers, SLUG, v) for v in variants))
    assert sorted(r.status_code for r in responses).count(202) == 2
    assert (await upload(client, headers, SLUG, b"x", filename="notes.txt")).status_code in (400, 429)
    stored = [p for p in _files(settings.blobs_dir) if p not in before]
    accepted = {r.json()["id"] for r in responses if r.status_code == 202}
    assert len(stored) == len(accepted) == 2
    assert not any(p.name.startswith(INCOMING_PREFIX) for p in _files(settings.blobs_dir))


async def test_an_oversize_file_is_not_kept(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"upload_mb": 0.01}))
    before = _files(settings.blobs_dir)
    headers = await login(client, "ada")
    big = await upload(client, headers, SLUG, b"id,diagnosis\n" + b"x" * 20_000)
    assert big.status_code == 413
    assert _files(settings.blobs_dir) == before


async def test_a_retried_upload_with_the_same_idempotency_key_is_not_duplicated(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 3}))
    headers = await login(client, "ada")
    data = csv_bytes(tumour_predictions()[0])
    keyed = {**headers, "Idempotency-Key": "upload-7f3a"}
    first = await upload(client, keyed, SLUG, data)
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    retries = await asyncio.gather(*(upload(client, keyed, SLUG, data) for _ in range(5)))
    assert {r.status_code for r in retries} == {202}
    assert {r.json()["id"] for r in retries} == {first.json()["id"]}
    assert all(r.headers["idempotent-replayed"] == "true" for r in retries)
    listing = (await client.get(f"/api/challenges/{SLUG}/submissions", headers=headers)).json()
    assert [s["id"] for s in listing] == [first.json()["id"]]
    other = await upload(client, keyed, SLUG, data + b"\n")
    assert other.status_code == 409 and "already used for another upload" in other.json()["detail"]
    bad = await upload(client, {**headers, "Idempotency-Key": "has spaces"}, SLUG, data)
    assert bad.status_code == 400 and "Idempotency-Key header" in bad.json()["detail"]


async def test_concurrent_uploads_with_one_key_make_one_submission(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 50}))
    headers = {**await login(client, "ada"), "Idempotency-Key": "same-key"}
    data = csv_bytes(tumour_predictions()[0])
    responses = await asyncio.gather(*(upload(client, headers, SLUG, data) for _ in range(10)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1


async def test_the_sweep_removes_old_files_nothing_references(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    kept = await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))
    assert kept.status_code == 202
    store = BlobStore(settings.blobs_dir)
    orphan = store.receive(__import__("io").BytesIO(b"left by a crash"), limit=100)
    orphan.commit()
    young = store.receive(__import__("io").BytesIO(b"about to be referenced"), limit=100)
    young.commit()
    partial = settings.blobs_dir / f"{INCOMING_PREFIX}cut-off"
    partial.write_bytes(b"half an upload")
    an_hour_ago = time.time() - 3600
    for path in _files(settings.blobs_dir):
        if path != store.path(young.sha256):
            os.utime(path, (an_hour_ago, an_hour_ago))
    before = set(_files(settings.blobs_dir))
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            removed = await sweep_orphans(session, store, older_than=timedelta(minutes=30))
    finally:
        await engine.dispose()
    assert removed == 2
    assert before - set(_files(settings.blobs_dir)) == {store.path(orphan.sha256), partial}
    assert (await client.get(f"/api/submissions/{kept.json()['id']}", headers=headers)).status_code == 200


async def test_the_sweep_keeps_a_scoring_programs_detailed_results(
    settings: Settings, client: AsyncTestClient
) -> None:
    """A submission's detailed results (details_sha256, written by a scoring program) are referenced
    like its file: the sweep once removed them an hour after they were written."""
    await load_challenge(settings, TUMOUR)
    headers = await login(client, "ada")
    sent = (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    store = BlobStore(settings.blobs_dir)
    details = store.put_bytes(b"<p>per-image results</p>")
    an_hour_ago = time.time() - 3600
    os.utime(store.path(details), (an_hour_ago, an_hour_ago))
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.exec(update(Submission).where(Submission.id == sent).values(details_sha256=details))
            await session.commit()
            removed = await sweep_orphans(session, store, older_than=timedelta(minutes=30))
    finally:
        await engine.dispose()
    assert removed == 0 and store.path(details).is_file()


@pytest.mark.parametrize("length", ["abc", "-5"])
async def test_a_malformed_content_length_is_not_a_server_error(
    settings: Settings, api: str, length: str
) -> None:
    await load_challenge(settings, TUMOUR)
    status = await _status_before_the_body(
        api, f"/api/challenges/{SLUG}/submissions", {"Content-Length": length}
    )
    assert 400 <= status < 500


async def test_a_new_participants_concurrent_first_uploads_all_land_in_one_team(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    """The first upload makes the solo team; the ones racing it join that team instead of a 409."""
    await load_challenge(settings, _with(tmp_path, limits={"per_day": 50}))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        headers = await login(http, "ada")
        data = csv_bytes(tumour_predictions()[0])
        responses = await asyncio.gather(*(upload(http, headers, SLUG, data + b"\n" * n) for n in range(8)))
        assert [r.status_code for r in responses] == [202] * 8, [
            r.text for r in responses if r.status_code != 202
        ]
        mine = (await http.get(f"/api/challenges/{SLUG}/team", headers=headers)).json()
    assert mine["members"] == ["ada"]


async def test_an_idle_connection_outlives_a_clients_pool(api: str) -> None:
    """The API keeps an idle keep-alive connection open past the 5 s after which httpx (and most
    client pools) stop reusing theirs, so a request never races the server closing the connection."""
    parts = urlsplit(api)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    request = f"GET /api/health HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    try:
        for _ in range(2):
            writer.write(request)
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), timeout=10)
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            await asyncio.sleep(6.5)  # past uvicorn's default keep-alive of 5 s (ours: 10 s)
    finally:
        writer.close()


def test_every_column_naming_a_stored_file_keeps_it_from_the_sweep() -> None:
    from sqlmodel import SQLModel

    from core.blobs import BLOB_COLUMNS

    named = {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("sha256")
    }
    assert named == {f"{c.table.name}.{c.name}" for c in (col.expression for col in BLOB_COLUMNS)}
