"""The submission record: each challenge's submissions as an append-only hash chain.

Every accepted upload becomes a record (the challenge, its sequence number there, the submission,
the team, the file's sha256 and size, the server time) that also holds the previous record's hash;
its own hash covers all of it. Changing a record's file hash or time, removing a record or slipping
one in breaks the chain at that link, and a copy of the head taken by anyone (it is on the
challenge page and in every board event, and in each team's signed receipts) pins all that came
before. Pure functions, and the check of a receipt's signature: the server and the participants'
command line share them (the server imports them as core.chain and core.receipts).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64  # the "previous hash" of a challenge's first record


@dataclass(frozen=True, slots=True)
class Record:
    challenge: str  # slug
    seq: int  # 1, 2, 3 … within the challenge
    submission_id: int
    team_id: int
    sha256: str  # of the uploaded file
    size: int
    created_at: datetime  # server time, UTC
    prev_hash: str

    def fields(self) -> dict[str, Any]:
        return {
            "challenge": self.challenge,
            "seq": self.seq,
            "submission_id": self.submission_id,
            "team_id": self.team_id,
            "sha256": self.sha256,
            "size": self.size,
            "created_at": timestamp(self.created_at),
            "prev_hash": self.prev_hash,
        }

    def hash(self) -> str:
        """sha256 of the record's canonical JSON (sorted keys, no spaces): what the next record holds."""
        return hashlib.sha256(canonical(self.fields())).hexdigest()

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Record:
        return cls(
            challenge=str(data["challenge"]),
            seq=int(data["seq"]),
            submission_id=int(data["submission_id"]),
            team_id=int(data["team_id"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            prev_hash=str(data["prev_hash"]),
        )


def timestamp(moment: datetime) -> str:
    """One spelling of a time for hashing: UTC, microseconds, 'Z'-less ISO 8601 with +00:00."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True, slots=True)
class Break:
    """The first link that does not hold: where (the sequence number expected there) and why."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.reason}"


def walk(records: list[dict[str, Any]]) -> Break | None:
    """Re-walk a chain as served (each entry: a record's fields plus its stated `hash`), in order.
    None if every link holds; else the first break."""
    previous = GENESIS
    times: datetime | None = None
    for expected, entry in enumerate(records, start=1):
        if entry.get("seq") is None:
            return Break(
                expected, f"submission {entry.get('submission_id')} is outside the chain: slipped in"
            )
        record = Record.from_fields(entry)
        if record.seq != expected:
            what = "removed" if record.seq > expected else "inserted or repeated"
            return Break(expected, f"found record {record.seq} where {expected} was due: a record was {what}")
        if record.prev_hash != previous:
            return Break(expected, "its previous-record hash is not the hash of record before it")
        if record.hash() != entry.get("hash"):
            return Break(expected, "its fields (file hash, size, time, team) no longer give its hash")
        if times is not None and record.created_at < times:
            return Break(expected, "its time is before the previous record's: back-dated")
        previous, times = entry["hash"], record.created_at
    return None


ALGORITHM = "Ed25519"


def signed_part(record: Record, team: str) -> dict[str, Any]:
    """What a receipt's signature covers: the record, its hash and the team's name."""
    return {**record.fields(), "hash": record.hash(), "team": team}


# What a receipt carries besides its signed part: how it was signed (the signature itself, and which key).
UNSIGNED = frozenset({"algorithm", "key_id", "signature"})


def verify_receipt(receipt: dict[str, Any], public_key_b64: str) -> str | None:
    """None if the receipt is whole and signed by that key (raw Ed25519, base64), and carries nothing
    the signature does not cover; else what is wrong."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        body = signed_part(Record.from_fields(receipt), str(receipt["team"]))
        if extra := sorted(set(receipt) - set(body) - UNSIGNED):
            return f"it carries fields no signature covers ({', '.join(extra)}): they were added to it"
        if receipt.get("algorithm") != ALGORITHM:
            return f"its algorithm is {receipt.get('algorithm')!r}; riality signs with {ALGORITHM}"
        if body["hash"] != receipt.get("hash"):
            return "its hash is not the hash of its fields: the receipt was edited"
        public.verify(base64.b64decode(str(receipt["signature"])), canonical(body))
    except InvalidSignature:
        return "the signature does not verify with the server's published key"
    except (KeyError, ValueError, TypeError) as exc:
        return f"not a riality receipt ({exc})"
    return None
