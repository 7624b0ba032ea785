"""Archive safety: every hostile zip is refused with a message naming the entry; good ones extract."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from core.archive import ArchiveError, ArchiveLimits, check_archive, extract_archive


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def device_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFCHR | 0o600) << 16
    return info


GOOD = ("predict.py", b"def predict(features):\n    return [0] * len(features)\n")

HOSTILE = [
    ("zip slip", [GOOD, ("../../evil.py", b"x")], r"'\.\./\.\./evil\.py': '\.\.' is not allowed"),
    ("nested slip", [GOOD, ("a/../../evil.py", b"x")], r"'\.\.' is not allowed"),
    (
        "absolute path",
        [GOOD, ("/etc/cron.d/evil", b"x")],
        r"'/etc/cron.d/evil': absolute paths are not allowed",
    ),
    ("windows drive", [GOOD, ("C:\\evil.py", b"x")], r"absolute paths are not allowed"),
    (
        "symlink",
        [GOOD, (symlink_entry("labels", "/data/hidden/labels.csv"), b"/data/hidden/labels.csv")],
        r"'labels' is a symbolic link",
    ),
    ("device", [GOOD, (device_entry("dev"), b"")], r"'dev' is a special file"),
    (
        "zip bomb",
        [GOOD, ("bomb.bin", b"\0" * (64 * 2**20))],
        r"'bomb.bin' is compressed \d+ to 1; this looks like a zip bomb",
    ),
    ("no predict.py", [("model.py", b"x")], r"no predict.py at its top level \(found: model.py\)"),
    ("predict.py nested only", [("src/predict.py", b"x")], r"no predict.py at its top level"),
]


@pytest.mark.parametrize(("entries", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_archive_is_refused(tmp_path: Path, entries: list, message: str) -> None:
    path = make_zip(tmp_path / "s.zip", entries)
    with pytest.raises(ArchiveError, match=message):
        extract_archive(path, tmp_path / "out", required="predict.py")
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / "labels").exists()


def test_too_many_entries(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "s.zip", [GOOD, *((f"f{i}", b"x") for i in range(20))])
    with pytest.raises(ArchiveError, match="has 21 entries; the limit is 10"):
        check_archive(path, ArchiveLimits(max_entries=10))


def test_total_size_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "s.zip", [GOOD, ("a", b"x" * 3000), ("b", b"y" * 3000)])
    with pytest.raises(ArchiveError, match="unpacks to more than 5,000 bytes"):
        check_archive(path, ArchiveLimits(max_total_bytes=5000))


def test_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "s.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        check_archive(tmp_path / "s.zip")


def test_good_archive_extracts_regular_files(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "s.zip", [GOOD, ("weights/w.txt", b"1 2 3"), ("weights/", b"")])
    extract_archive(path, tmp_path / "out")
    assert (tmp_path / "out" / "predict.py").read_bytes() == GOOD[1]
    assert (tmp_path / "out" / "weights" / "w.txt").read_text() == "1 2 3"


def test_many_small_entries_that_expand_too_far_together_are_a_bomb(tmp_path: Path) -> None:
    """Each entry at 1 MiB is under the per-entry ratio's floor; 480 of them in a 600 KB zip are not."""
    path = make_zip(tmp_path / "s.zip", [GOOD, *((f"z{i}", b"\0" * 2**20) for i in range(480))])
    with pytest.raises(ArchiveError, match=r"the archive is compressed \d+ to 1; this looks like a zip bomb"):
        extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("crc", r"archive entry 'data.csv' is damaged: Bad CRC-32"),
        ("deflate", r"archive entry 'data.csv' is damaged: Error -3 while decompressing"),
    ],
)
def test_a_damaged_entry_is_refused_with_its_name(tmp_path: Path, damage: str, message: str) -> None:
    data = b"id,label\n" + b"".join(b"%d,%d\n" % (i, i % 7) for i in range(20000))
    path = make_zip(tmp_path / "s.zip", [("data.csv", data)])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("data.csv")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    if damage == "crc":  # the central directory's CRC no longer matches the data
        crc = info.CRC.to_bytes(4, "little")
        central = raw.rindex(crc)
        raw[central : central + 4] = (info.CRC ^ 1).to_bytes(4, "little")
        local = raw.index(crc)
        raw[local : local + 4] = (info.CRC ^ 1).to_bytes(4, "little")
    else:  # the deflate stream is garbled in its middle
        middle = start + info.compress_size // 2
        raw[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=message):
        extract_archive(path, tmp_path / "out")
