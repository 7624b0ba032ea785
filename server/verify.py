"""`riality verify`: check a challenge's submission record, or a receipt, against a running server.

Talks to the server over HTTP only (any riality server, not this one's database): the chain is
re-walked here with core.chain.walk, and a receipt checked with the server's published key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from core.chain import walk
from core.receipts import verify_receipt


def _client(server: str | None, token: str | None) -> httpx.Client:
    server = server or os.environ.get("RIALITY_SERVER") or "http://127.0.0.1:8000"
    token = token or os.environ.get("RIALITY_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, headers=headers, timeout=60)


def _get(http: httpx.Client, path: str) -> dict:
    response = http.get(path)
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.content else response.reason_phrase
        raise SystemExit(f"riality: {path}: {response.status_code} {detail}")
    return response.json()


def verify_chain(slug: str, *, server: str | None = None, token: str | None = None) -> tuple[bool, str]:
    """(whole, what to print): every link of the challenge's record, from the first."""
    with _client(server, token) as http:
        chain = _get(http, f"/api/challenges/{slug}/chain")
    broken = walk(chain["records"])
    if broken is not None:
        return False, f"{slug}: the record is broken at {broken}"
    if chain["records"] and chain["records"][-1]["hash"] != chain["head"]:
        return False, f"{slug}: the record's last hash is not the head the server states ({chain['head']})"
    return True, f"{slug}: {chain['length']} records, every link holds; head {chain['head']}"


def verify_receipt_file(
    path: Path, *, server: str | None = None, token: str | None = None
) -> tuple[bool, str]:
    """(whole, what to print): the receipt's signature with the server's key, and its record still in
    the server's chain at its place with the same hash."""
    receipt = json.loads(path.read_text())
    with _client(server, token) as http:
        key = _get(http, "/api/keys/receipts")
        problem = verify_receipt(receipt, key["public_key"])
        if problem is not None:
            return False, f"{path}: {problem}"
        chain = _get(http, f"/api/challenges/{receipt['challenge']}/chain")
    seq = int(receipt["seq"])
    held = chain["records"][seq - 1] if 0 < seq <= len(chain["records"]) else None
    if held is None or held.get("hash") != receipt["hash"] or held.get("seq") != seq:
        return (
            False,
            f"{path}: signed, but record {seq} of {receipt['challenge']!r} on the server is not this one",
        )
    broken = walk(chain["records"][:seq])
    if broken is not None:
        return False, f"{path}: signed, but the record up to it is broken at {broken}"
    return (
        True,
        f"{path}: signed by the server (key {key['key_id']}) and record {seq} of {receipt['challenge']!r}",
    )
