"""The deployment image (Dockerfile, used by compose.yaml) carries every package the project installs."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def test_the_dockerfile_copies_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = project["tool"]["setuptools"]["packages"]["find"]
    # A package at the top is copied as itself; one found under another `where` folder (the client,
    # in client/) comes with that folder.
    folders = {p.rstrip("*") for p in find["include"] if (ROOT / p.rstrip("*")).is_dir()}
    folders |= {where for where in find.get("where", ["."]) if where != "."}
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert folders <= copied, f"not copied into the image: {sorted(folders - copied)}"
    assert "riality_client" not in folders and "client" in folders  # the client is found under client/
