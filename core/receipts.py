"""Receipts: a submission's record in its challenge's chain, signed by the server's Ed25519 key.

A team keeps its receipts; anyone holding one can check, with the public key the server publishes,
that the server accepted that file at that time and in that place of the chain, and later that the
chain still holds it there. The private key is made on first start (mode 0600 in the data dir), or
is an operator's file.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from riality_client.record import ALGORITHM, Record, canonical, signed_part, verify_receipt

__all__ = ["ALGORITHM", "ReceiptKey", "load_or_create_key", "make_receipt", "verify_receipt"]


@dataclass(frozen=True, slots=True)
class ReceiptKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def load_or_create_key(path: Path) -> ReceiptKey:
    """The key in `path`, made there (readable by its owner only) if there is none yet; two processes
    starting at once end up with the same one."""
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path}: expected an Ed25519 private key (PEM, PKCS#8)")
    return ReceiptKey(loaded)


def make_receipt(key: ReceiptKey, record: Record, team: str) -> dict[str, Any]:
    body = signed_part(record, team)
    signature = key.private.sign(canonical(body))
    return {
        **body,
        "algorithm": ALGORITHM,
        "key_id": key.key_id,
        "signature": base64.b64encode(signature).decode(),
    }
