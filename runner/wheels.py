"""Wheels for the runtime images: resolving requirements to a lock, and filling a wheelhouse from one.

Both ask the package registry through the host's pip, for the image's interpreter and platform
(CPython 3.11 on glibc x86_64), never for the host's own; binary wheels only, so nothing from a
registry is built or run on the host. The image build then installs from the wheelhouse with no
network (`--no-index --require-hashes`).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
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


def _pip(args: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", *TARGET, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise WheelError(f"pip did not finish within {PIP_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location")]
        raise WheelError("\n".join(lines[-12:]) or f"pip exited with code {done.returncode}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _pins_of(folder: Path) -> list[Pin]:
    pins = []
    for wheel in sorted(folder.glob("*.whl")):
        match = _WHEEL.match(wheel.name)
        if match is None:
            raise WheelError(f"{wheel.name} is not a wheel's file name")
        pins.append(Pin(normalise(match.group(1)), match.group(2), (_sha256(wheel),)))
    return pins


def resolve(requirements: list[str], header: str) -> str:
    """The lock text for these requirements: the newest versions that fit, with every dependency."""
    with tempfile.TemporaryDirectory(prefix="riality-resolve-") as tmp:
        listing = Path(tmp) / "requirements.txt"
        listing.write_text("\n".join(requirements) + "\n")
        _pip(["-d", str(Path(tmp) / "wheels"), "-r", str(listing)])
        return render_lock(_pins_of(Path(tmp) / "wheels"), header)


def fill_wheelhouse(lock_text: str, wheelhouse: Path) -> list[Path]:
    """The lock's wheels in `wheelhouse` (downloaded once, checked against the lock's hashes)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pins = parse_lock(lock_text)
    with tempfile.NamedTemporaryFile("w", suffix=".lock", prefix="riality-") as lock:
        lock.write(lock_text)
        lock.flush()
        _pip(["--no-deps", "--require-hashes", "-d", str(wheelhouse), "-r", lock.name])
    wanted = {(pin.name, pin.version) for pin in pins}
    wheels = [w for w in wheelhouse.glob("*.whl") if _key(w) in wanted]
    have = {_key(w) for w in wheels}
    if missing := sorted(f"{n}=={v}" for n, v in wanted - have):
        raise WheelError(f"the wheelhouse lacks {', '.join(missing)}")
    return wheels


def _key(wheel: Path) -> tuple[str, str]:
    match = _WHEEL.match(wheel.name)
    return (normalise(match.group(1)), match.group(2)) if match else ("", "")
