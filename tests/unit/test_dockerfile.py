"""The deployment image (Dockerfile, used by compose.yaml) carries every package the project installs."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def test_the_dockerfile_copies_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
