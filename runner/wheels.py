"""Wheels for the runtime images: resolving requirements to a lock, and filling a wheelhouse from one.

Both ask the package registry through the host's pip, for the image's interpreter and platform
(CPython 3.11 on glibc x86_64), never for the host's own; binary wheels only, so nothing from a
registry is built or run on the host. The image build then installs from the wheelhouse with no
network (`--no-index --require-hashes`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.environments import PYTHON_VERSION, Pin, normalise, parse_lock, render_lock

GLIBC = 36  # Debian bookworm's glibc 2.36: a wheel built for it or older runs in the image
PIP_TIMEOUT_S = 900  # a cold wheelhouse of the default lock is ~190 MB
_WHEEL = re.compile(r"^([^-]+)-([^-]+)-")

# pip does not widen a `--platform` to the older glibc versions it implies: name them all.
TARGET = [
    "--only-binary=:all:",
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    *[arg for minor in range(GLIBC, 4, -1) for arg in ("--platform", f"manylinux_2_{minor}_x86_64")],
    *[
        arg
        for tag in ("manylinux2014", "manylinux2010", "manylinux1")
        for arg in ("--platform", f"{tag}_x86_64")
    ],
]


class WheelError(RuntimeError):
    """pip could not resolve or download; the message is pip's own last lines."""


def _pip(command_name: str, args: list[str]) -> None:
    command = [sys.executable, "-m", "pip", command_name, "--disable-pip-version-check", "-q", *TARGET, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise WheelError(f"pip did not finish within {PIP_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location")]
        raise WheelError("\n".join(lines[-12:]) or f"pip exited with code {done.returncode}")


def resolve(requirements: list[str], header: str, constraints: Sequence[Pin] = ()) -> str:
    """The lock text for these requirements: the newest versions that fit (and fit `constraints`),
    every dependency included, each with its wheel's sha256 as the index gives it. pip resolves
    without installing anything (`--dry-run --report`), reading only the wheels' metadata."""
    with tempfile.TemporaryDirectory(prefix="riality-resolve-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (folder / "constraints.txt").write_text("".join(f"{pin.line()}\n" for pin in constraints))
        _pip(
            "install",
            [
                "--dry-run", "--ignore-installed", "--target", str(folder / "target"),
                "--report", str(folder / "report.json"),
                "-r", str(folder / "requirements.txt"), "-c", str(folder / "constraints.txt"),
            ],
        )  # fmt: skip
        report = json.loads((folder / "report.json").read_text())
    pins = []
    for item in report["install"]:
        name, version = normalise(item["metadata"]["name"]), item["metadata"]["version"]
        sha256 = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha256:
            raise WheelError(f"the index gave no sha256 for {name}=={version}")
        pins.append(Pin(name, version, (sha256,)))
    return render_lock(pins, header)


def fill_wheelhouse(lock_text: str, wheelhouse: Path) -> list[Path]:
    """The lock's wheels in `wheelhouse` (downloaded once, checked against the lock's hashes)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pins = parse_lock(lock_text)
    with tempfile.NamedTemporaryFile("w", suffix=".lock", prefix="riality-") as lock:
        lock.write(lock_text)
        lock.flush()
        _pip("download", ["--no-deps", "--require-hashes", "-d", str(wheelhouse), "-r", lock.name])
    wanted = {(pin.name, pin.version) for pin in pins}
    wheels = [w for w in wheelhouse.glob("*.whl") if _key(w) in wanted]
    have = {_key(w) for w in wheels}
    if missing := sorted(f"{n}=={v}" for n, v in wanted - have):
        raise WheelError(f"the wheelhouse lacks {', '.join(missing)}")
    return wheels


def _key(wheel: Path) -> tuple[str, str]:
    match = _WHEEL.match(wheel.name)
    return (normalise(match.group(1)), match.group(2)) if match else ("", "")
