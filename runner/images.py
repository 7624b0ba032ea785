"""Building the runtime images that run model and code submissions.

An image is an interpreter plus one environment (a lock, core/environments.py) plus the harness, run
by a non-root user. Two recipes, one result: the normal Dockerfile for hosts that reach a registry
(`python:3.11-slim`, then pip from the index), and an offline one for closed networks: its base is a
Debian root filesystem made by debootstrap from a Debian mirror and imported with `docker import`,
and the lock's wheels are downloaded on the host into a wheelhouse and installed inside the build
with no network. A build is skipped when the image exists and carries the digest of its recipe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from core.environments import DEFAULT_LOCK
from runner.wheels import fill_wheelhouse

log = logging.getLogger(__name__)

RUNTIME_IMAGE = "riality/runtime-python:latest"
RECIPE_LABEL = "riality.recipe"
IMAGE_DIR = Path(__file__).parent / "image"
HARNESS_FILES = ("harness.py", "score_harness.py")
# The interpreter and what wheels need from the system (OpenMP for lightgbm and xgboost).
DEBIAN_PACKAGES = "python3,python3-venv,libgomp1"
BASE_IMAGE = f"riality/runtime-base:bookworm-{hashlib.sha256(DEBIAN_PACKAGES.encode()).hexdigest()[:8]}"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True, slots=True)
class BuildResult:
    tag: str
    built: bool  # False when the image was already current
    recipe: str
    log: str = ""  # what the build printed


def wheelhouse_dir() -> Path:
    """Where downloaded wheels are kept between builds (a cache: safe to delete)."""
    if configured := os.environ.get("RIALITY_WHEELHOUSE"):
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "riality" / "wheels"


def _dockerfile(offline: bool) -> str:
    return "Dockerfile.offline" if offline else "Dockerfile"


def recipe_digest(*, offline: bool, lock_text: str) -> str:
    digest = hashlib.sha256()
    parts = [(IMAGE_DIR / _dockerfile(offline)).read_bytes(), DEBIAN_PACKAGES.encode(), lock_text.encode()]
    parts += [(IMAGE_DIR / name).read_bytes() for name in HARNESS_FILES]
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def has_image(client: docker.DockerClient, tag: str, recipe: str | None = None) -> bool:
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return False
    return recipe is None or (image.labels or {}).get(RECIPE_LABEL) == recipe


def _build_base(client: docker.DockerClient, mirror: str) -> None:
    """Debian bookworm's Python interpreter, from a mirror only: no registry needed."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="riality-rootfs-") as tmp:
        root = Path(tmp) / "root"
        log.info("debootstrap %s into %s (about a minute)", DEBIAN_PACKAGES, root)
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={DEBIAN_PACKAGES}",
                "bookworm",
                str(root),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / cache, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        repository, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_stream(tar.stdout, repository=repository, tag=tag)
        if tar.wait() != 0:
            raise RuntimeError("tar of the root filesystem failed")


def _context(folder: Path, *, offline: bool, lock_text: str, wheelhouse: Path) -> None:
    """The build context: recipe, harness, lock and (offline) the lock's wheels, hard-linked if possible."""
    for name in (_dockerfile(offline), *HARNESS_FILES):
        shutil.copy(IMAGE_DIR / name, folder / name)
    (folder / "requirements.lock").write_text(lock_text)
    wheels = folder / "wheels"
    wheels.mkdir()
    if not offline:
        return
    for wheel in fill_wheelhouse(lock_text, wheelhouse):
        try:
            os.link(wheel, wheels / wheel.name)
        except OSError:
            shutil.copy(wheel, wheels / wheel.name)


def build_runtime_image(
    client: docker.DockerClient,
    *,
    offline: bool,
    tag: str = RUNTIME_IMAGE,
    mirror: str = DEFAULT_MIRROR,
    lock_text: str | None = None,
    wheelhouse: Path | None = None,
) -> BuildResult:
    """The image for an environment (the default lock unless `lock_text`), built unless current."""
    lock_text = DEFAULT_LOCK.read_text() if lock_text is None else lock_text
    recipe = recipe_digest(offline=offline, lock_text=lock_text)
    if has_image(client, tag, recipe):
        return BuildResult(tag=tag, built=False, recipe=recipe)
    if offline and not has_image(client, BASE_IMAGE):
        _build_base(client, mirror)
    with tempfile.TemporaryDirectory(prefix="riality-image-") as tmp:
        _context(Path(tmp), offline=offline, lock_text=lock_text, wheelhouse=wheelhouse or wheelhouse_dir())
        _, output = client.images.build(
            path=tmp,
            dockerfile=_dockerfile(offline),
            tag=tag,
            labels={RECIPE_LABEL: recipe},
            buildargs={"BASE": BASE_IMAGE} if offline else None,
            network_mode="none" if offline else None,
            rm=True,
            forcerm=True,
        )
    return BuildResult(tag=tag, built=True, recipe=recipe, log=build_output(output))


def build_output(chunks: Iterable[object]) -> str:
    """What a Docker build printed, from its stream of JSON chunks (a build's, or a BuildError's log)."""
    return "".join(str(chunk.get("stream", "")) for chunk in chunks if isinstance(chunk, dict))


def build_environment_image(client: docker.DockerClient, tag: str, lock_text: str) -> BuildResult:
    """A challenge environment's image: offline (Debian's interpreter, wheels from the host) wherever
    the offline base is or can be made, else from the registry."""
    offline = has_image(client, BASE_IMAGE) or shutil.which("debootstrap") is not None
    return build_runtime_image(client, offline=offline, tag=tag, lock_text=lock_text)
