"""The submission record's links and the receipts' signatures, without a server."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.chain import GENESIS, Record, walk
from core.receipts import load_or_create_key, make_receipt, verify_receipt

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def chain(n: int) -> list[dict]:
    entries, previous = [], GENESIS
    for seq in range(1, n + 1):
        record = Record("c", seq, 10 + seq, 1, f"{seq:064x}", 100, START + timedelta(seconds=seq), previous)
        previous = record.hash()
        entries.append({**record.fields(), "hash": previous})
    return entries


def test_an_intact_chain_walks_to_its_end() -> None:
    assert walk(chain(5)) is None
    assert walk([]) is None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c[2].update(sha256="0" * 64), "record 3: its fields"),
        (lambda c: c[2].update(size=1), "record 3: its fields"),
        (lambda c: c.pop(1), "record 2: found record 3 where 2 was due: a record was removed"),
        (lambda c: c.insert(1, dict(c[0])), "record 2: found record 1 where 2 was due"),
        (lambda c: c[3].update(prev_hash="1" * 64), "record 4: its previous-record hash"),
        (
            lambda c: c.append({"seq": None, "submission_id": 99}),
            "record 6: submission 99 is outside the chain",
        ),
    ],
    ids=["file hash", "size", "removed", "repeated", "relinked", "outside"],
)
def test_the_first_broken_link_is_named(edit: object, expected: str) -> None:
    entries = chain(5)
    edit(entries)  # type: ignore[operator]
    assert str(walk(entries)).startswith(expected)


def test_a_record_dated_before_the_previous_one_is_back_dated() -> None:
    entries = chain(2)
    late = Record.from_fields(entries[1])
    early = Record("c", 3, 99, 1, "a" * 64, 1, START, entries[1]["hash"])
    assert late.created_at > early.created_at
    entries.append({**early.fields(), "hash": early.hash()})
    assert str(walk(entries)) == "record 3: its time is before the previous record's: back-dated"


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "receipts.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path).public_raw == key.public_raw


def test_a_receipt_verifies_with_its_key_only(tmp_path: Path) -> None:
    import base64

    key, other = load_or_create_key(tmp_path / "a.key"), load_or_create_key(tmp_path / "b.key")
    record = Record.from_fields(chain(1)[0])
    receipt = make_receipt(key, record, "Team Ada")
    assert verify_receipt(receipt, base64.b64encode(key.public_raw).decode()) is None
    wrong = verify_receipt(receipt, base64.b64encode(other.public_raw).decode())
    assert wrong == "the signature does not verify with the server's published key"
    renamed = verify_receipt({**receipt, "team": "Team Bob"}, base64.b64encode(key.public_raw).decode())
    assert renamed == "the signature does not verify with the server's published key"


def test_a_receipt_with_fields_no_signature_covers_fails(tmp_path: Path) -> None:
    """A score added to a real receipt once verified as 'signed by the server'."""
    import base64

    key = load_or_create_key(tmp_path / "a.key")
    receipt = make_receipt(key, Record.from_fields(chain(1)[0]), "Team Ada")
    public = base64.b64encode(key.public_raw).decode()
    added = verify_receipt({**receipt, "public_score": 1.0, "score": 0.99}, public)
    assert added == "it carries fields no signature covers (public_score, score): they were added to it"
    assert verify_receipt({**receipt, "algorithm": "none"}, public) == (
        "its algorithm is 'none'; riality signs with Ed25519"
    )
    assert verify_receipt(receipt, public) is None  # as issued, it verifies
