"""The runtime image holds exactly the lock's packages, at the lock's versions."""

from __future__ import annotations

import json

from core.environments import default_pins, normalise
from runner.images import RUNTIME_IMAGE, build_runtime_image
from runner.sandbox import Sandbox

LIST_PACKAGES = """
import importlib.metadata as metadata, json, sys
print(json.dumps({"python": sys.version.split()[0],
                  "packages": {d.metadata["Name"]: d.version for d in metadata.distributions()}}))
"""
VENV_TOOLS = {"pip", "setuptools", "wheel"}  # what `python -m venv` puts there, not from the lock


def test_the_runtime_images_versions_are_the_locks() -> None:
    client = Sandbox().client
    build_runtime_image(client, offline=True)  # scripts/test.sh built it; this only checks it is current
    output = client.containers.run(
        RUNTIME_IMAGE, ["python3", "-c", LIST_PACKAGES], network_disabled=True, remove=True
    )
    found = json.loads(output)
    assert found["python"].startswith("3.11.")
    installed = {normalise(name): version for name, version in found["packages"].items()}
    installed = {name: v for name, v in installed.items() if name not in VENV_TOOLS}
    assert installed == {pin.name: pin.version for pin in default_pins()}
