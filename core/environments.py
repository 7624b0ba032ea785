"""Environments: the exact Python packages a challenge's model and code submissions run with.

An environment is a lock: one `name==version` line per package with the sha256 of its wheel, as pip's
`--require-hashes` reads it. The default one is `core/runtime.lock` (written by `riality image lock`);
a challenge may declare its own packages, resolved to a lock of the same form. The API shows it to
teams; the worker builds an image from it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOCK = Path(__file__).with_name("runtime.lock")
PYTHON_VERSION = "3.11"  # Debian bookworm's interpreter, and the online image's `python:3.11-slim`

# What the default environment is made of (`riality image lock` resolves it to the newest releases).
DEFAULT_PACKAGES = [
    "numpy", "scipy", "pandas", "scikit-learn", "joblib", "pyarrow",
    "xgboost-cpu", "lightgbm", "skops", "onnxruntime",
]  # fmt: skip

# The sandbox has no GPU: the lock takes a CPU-only build where one is published under another name.
# Teams install the usual name (same release, same Python module, same saved models).
CPU_BUILDS = {"xgboost-cpu": "xgboost"}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


class LockError(ValueError):
    """A lock file line is not `name==version` (with its hashes)."""


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...] = ()

    def line(self) -> str:
        return f"{self.name}=={self.version}"


def normalise(name: str) -> str:
    """PEP 503's form of a package name: `Scikit_Learn` and `scikit-learn` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> list[Pin]:
    pins: list[Pin] = []
    for number, logical in enumerate(text.replace("\\\n", " ").splitlines(), start=1):
        line = logical.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        match = _PIN.match(requirement)
        if match is None:
            raise LockError(f"line {number}: {requirement!r} is not name==version")
        hashes = tuple(o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash=sha256:"))
        pins.append(Pin(normalise(match.group(1)), match.group(2), hashes))
    return sorted(pins, key=lambda pin: pin.name)


def render_lock(pins: list[Pin], header: str) -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for pin in sorted(pins, key=lambda p: p.name):
        hashes = "".join(f" \\\n    --hash=sha256:{h}" for h in pin.hashes)
        lines.append(f"{pin.line()}{hashes}")
    return "\n".join(lines) + "\n"


def lock_digest(pins: list[Pin]) -> str:
    """Content address of an environment: equal package lists share one image."""
    listing = "\n".join(
        f"{p.line()} {','.join(sorted(p.hashes))}" for p in sorted(pins, key=lambda p: p.name)
    )
    return hashlib.sha256(f"python {PYTHON_VERSION}\n{listing}".encode()).hexdigest()[:24]


def requirements_txt(pins: list[Pin], title: str) -> str:
    """What a team installs to train with the sandbox's versions: `pip install -r requirements.txt`."""
    lines = [f"# The environment of {title}: Python {PYTHON_VERSION}", "# pip install -r requirements.txt"]
    for pin in pins:
        name = CPU_BUILDS.get(pin.name, pin.name)
        lines.append(f"{name}=={pin.version}")
    return "\n".join(lines) + "\n"


def default_pins() -> list[Pin]:
    return parse_lock(DEFAULT_LOCK.read_text())


def image_tag(pins: list[Pin]) -> str:
    """A challenge environment's image, named by its content: equal locks share it."""
    return f"riality/env:{lock_digest(pins)}"


def requirements_for(packages: list[str]) -> tuple[list[str], list[Pin]]:
    """What to resolve for a challenge's packages: the default runtime's packages beside them, held at
    the default lock's versions (the constraints) unless the challenge names them itself."""
    named = {normalise(re.split(r"[\[<>=!~;\s]", p, maxsplit=1)[0]) for p in packages}
    extra = [name for name in DEFAULT_PACKAGES if normalise(name) not in named]
    constraints = [pin for pin in default_pins() if pin.name not in named]
    return [*packages, *extra], constraints
