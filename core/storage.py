"""Content-addressed file store: a file lives at blobs/ab/cd/<sha256>, never at a path built from user input."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024
INCOMING_PREFIX = ".incoming-"  # files being received; the orphan sweep removes old ones


class TooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit:,} bytes")
        self.limit = limit


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _commit(self, tmp: Path, sha256: str) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)  # atomic: readers see the whole file or none

    def put_bytes(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if self.path(sha256).exists():
            return sha256
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=INCOMING_PREFIX) as tmp:
            tmp.write(data)
        self._commit(Path(tmp.name), sha256)
        return sha256

    def receive(self, source: BinaryIO, *, limit: int) -> Incoming:
        """Copy a stream into a temporary file beside the blobs, refusing it past `limit` bytes.

        Nothing is visible under its digest until `Incoming.commit()`: a refused upload leaves nothing.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=INCOMING_PREFIX) as tmp:
            try:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLargeError(limit)
                    digest.update(chunk)
                    tmp.write(chunk)
            except BaseException:
                Path(tmp.name).unlink(missing_ok=True)
                raise
        return Incoming(self, Path(tmp.name), digest.hexdigest(), size)

    def read_bytes(self, sha256: str, *, limit: int) -> bytes:
        path = self.path(sha256)
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise TooLargeError(limit)
        return data


@dataclass(slots=True)
class Incoming:
    """A received file not yet in the store: `commit()` puts it under its digest, `discard()` drops it."""

    store: BlobStore
    tmp: Path
    sha256: str
    size: int
    committed: bool = False

    def commit(self) -> None:
        self.store._commit(self.tmp, self.sha256)
        self.committed = True

    def discard(self) -> None:
        if not self.committed:
            self.tmp.unlink(missing_ok=True)
