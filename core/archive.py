"""Unpacking an untrusted zip safely: a code submission's, or a challenge bundle's.

Refused with a message that names the entry: too many entries, too large once unpacked (zip
bombs), absolute paths or '..' (zip slip), symbolic links, device files and other non-regular
entries, and a missing required file (a code submission's predict.py). Extraction writes only
regular files under the target folder.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class ArchiveError(Exception):
    """The archive is refused; the message says why."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_entries: int = 2000
    max_total_bytes: int = 512 * 2**20
    max_entry_bytes: int = 256 * 2**20
    max_ratio: float = 200.0  # uncompressed / compressed, per entry and over the whole archive
    ratio_floor_bytes: int = 2**20  # below this much unpacked, any ratio is harmless


# What a damaged entry raises as it is read: a bad CRC, a corrupt or cut deflate stream, a header
# that disagrees with its data, an encrypted entry or an unsupported compression method.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def _bomb(name: str, unpacked: int, packed: int, limits: ArchiveLimits) -> ArchiveError | None:
    if packed and unpacked > limits.ratio_floor_bytes and unpacked / packed > limits.max_ratio:
        return ArchiveError(f"{name} is compressed {unpacked / packed:.0f} to 1; this looks like a zip bomb")
    return None


def _check_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"archive entry {name!r}: absolute paths are not allowed")
    if ".." in path.parts:
        raise ArchiveError(f"archive entry {name!r}: '..' is not allowed (it would write outside the folder)")
    return path


def _kind(info: zipfile.ZipInfo) -> str:
    file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool stored no Unix type
    if file_type == stat.S_IFLNK:
        return "symbolic link"
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "special file"
    return "directory" if info.is_dir() else "file"


def check_archive(
    path: Path, limits: ArchiveLimits = ArchiveLimits(), *, required: str | None = None
) -> list[zipfile.ZipInfo]:
    """Validate a zip without extracting it; return its file entries. `required`: a file it must hold
    at its top level."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise ArchiveError(f"the archive has {len(entries)} entries; the limit is {limits.max_entries}")
        files, total = [], 0
        for info in entries:
            _check_name(info.filename)
            kind = _kind(info)
            if kind in ("symbolic link", "special file"):
                raise ArchiveError(
                    f"archive entry {info.filename!r} is a {kind}; only regular files are allowed"
                )
            if kind == "directory":
                continue
            if info.file_size > limits.max_entry_bytes:
                raise ArchiveError(
                    f"archive entry {info.filename!r} unpacks to {info.file_size:,} bytes; "
                    f"the limit is {limits.max_entry_bytes:,}"
                )
            if error := _bomb(f"archive entry {info.filename!r}", info.file_size, info.compress_size, limits):
                raise error
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ArchiveError(f"the archive unpacks to more than {limits.max_total_bytes:,} bytes")
            files.append(info)
        # Many small entries, each under the floor: the whole archive's ratio still gives a bomb away.
        if error := _bomb("the archive", total, path.stat().st_size, limits):
            raise error
        if required and not any(PurePosixPath(i.filename) == PurePosixPath(required) for i in files):
            names = ", ".join(i.filename for i in files[:5]) or "nothing"
            raise ArchiveError(f"the archive has no {required} at its top level (found: {names})")
        return files


def extract_archive(
    path: Path, target: Path, limits: ArchiveLimits = ArchiveLimits(), *, required: str | None = None
) -> None:
    """Extract a checked archive; sizes are enforced again while writing (headers can lie)."""
    files = check_archive(path, limits, required=required)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in files:
            destination = (root / _check_name(info.filename)).resolve()
            if not destination.is_relative_to(root):
                raise ArchiveError(f"archive entry {info.filename!r} leads outside the folder")
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as source, destination.open("wb") as sink:
                    entry = 0
                    while chunk := source.read(2**20):
                        entry += len(chunk)
                        written += len(chunk)
                        if entry > limits.max_entry_bytes or written > limits.max_total_bytes:
                            raise ArchiveError(
                                f"archive entry {info.filename!r} unpacks to more than it declares"
                            )
                        sink.write(chunk)
            except _DAMAGED as exc:
                raise ArchiveError(f"archive entry {info.filename!r} is damaged: {exc}") from None
