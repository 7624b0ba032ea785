"""Building the runtime image that runs model and code submissions.

Two recipes, one result (python3, numpy, pandas, scikit-learn, joblib, the harness, a non-root user):
the normal Dockerfile for hosts that reach a registry, and an offline one whose base is a Debian
root filesystem made by debootstrap from a Debian mirror and imported with `docker import`.
A build is skipped when the image exists and carries the digest of the current recipe.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import ImageNotFound

log = logging.getLogger(__name__)

RUNTIME_IMAGE = "riality/runtime-python:latest"
BASE_IMAGE = "riality/runtime-base:bookworm"
RECIPE_LABEL = "riality.recipe"
IMAGE_DIR = Path(__file__).parent / "image"
DEBIAN_PACKAGES = "python3-minimal,python3-numpy,python3-pandas,python3-sklearn,python3-joblib"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True, slots=True)
class BuildResult:
    tag: str
    built: bool  # False when the image was already current
    recipe: str


def recipe_digest(*, offline: bool) -> str:
    dockerfile = IMAGE_DIR / ("Dockerfile.offline" if offline else "Dockerfile")
    digest = hashlib.sha256()
    parts = [dockerfile.read_bytes(), DEBIAN_PACKAGES.encode()]
    parts += [(IMAGE_DIR / name).read_bytes() for name in ("harness.py", "score_harness.py")]
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def _has_image(client: docker.DockerClient, tag: str, recipe: str | None = None) -> bool:
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return False
    return recipe is None or (image.labels or {}).get(RECIPE_LABEL) == recipe


def _build_base(client: docker.DockerClient, mirror: str) -> None:
    """Debian bookworm with Python's data stack, from a mirror only: no registry needed."""
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
        client.api.import_image_from_stream(tar.stdout, repository=BASE_IMAGE.split(":")[0], tag="bookworm")
        if tar.wait() != 0:
            raise RuntimeError("tar of the root filesystem failed")


def build_runtime_image(
    client: docker.DockerClient, *, offline: bool, tag: str = RUNTIME_IMAGE, mirror: str = DEFAULT_MIRROR
) -> BuildResult:
    recipe = recipe_digest(offline=offline)
    if _has_image(client, tag, recipe):
        return BuildResult(tag=tag, built=False, recipe=recipe)
    if offline and not _has_image(client, BASE_IMAGE):
        _build_base(client, mirror)
    client.images.build(
        path=str(IMAGE_DIR),
        dockerfile="Dockerfile.offline" if offline else "Dockerfile",
        tag=tag,
        labels={RECIPE_LABEL: recipe},
        network_mode="none" if offline else None,
        rm=True,
        forcerm=True,
    )
    return BuildResult(tag=tag, built=True, recipe=recipe)
