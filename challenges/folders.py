"""A bundle's folders (a scoring program, its reference data, the public inputs) stored as one zip each.

Packed deterministically (sorted entries, fixed times), so the same folder gives the same blob and a
rescore is triggered only by a real change; the worker unpacks them (runner.programs).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

MAX_ENTRIES = 10_000
_EPOCH = (1980, 1, 1, 0, 0, 0)


class FolderError(Exception):
    """The folder cannot be packed; the message says which entry and why."""


def pack_folder(folder: Path, *, max_bytes: int) -> bytes:
    """The folder's regular files as a zip, paths relative to it; symbolic links are refused."""
    buffer = io.BytesIO()
    total, count = 0, 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise FolderError(f"{relative}: a symbolic link; expected regular files only")
            if path.is_dir() or path.name.startswith(".") or "__pycache__" in path.parts:
                continue
            if not path.is_file():
                raise FolderError(f"{relative}: not a regular file")
            count += 1
            total += path.stat().st_size
            if count > MAX_ENTRIES or total > max_bytes:
                raise FolderError(f"more than {MAX_ENTRIES:,} files or {max_bytes:,} bytes")
            info = zipfile.ZipInfo(relative, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    if count == 0:
        raise FolderError("the folder holds no files")
    return buffer.getvalue()
