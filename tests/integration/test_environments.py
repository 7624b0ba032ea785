"""The runtime image holds exactly the lock's packages, at the lock's versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from core.environments import default_pins, normalise
from core.settings import Settings
from runner.images import RUNTIME_IMAGE, build_runtime_image
from runner.sandbox import Sandbox
from tests.helpers import announce_sandbox_worker, drain_queue, load_challenge, login, upload
from tests.integration.test_lifecycle import bundle_zip, create, organiser
from tests.integration.test_model_and_code import SLUG, TUMOUR, bundle, results, zip_bytes

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


TABULATE_PREDICT = """
import numpy as np
import tabulate  # only the challenge's own environment has it

def predict(features):
    assert tabulate.tabulate([[1]])
    return np.clip((features["worst_radius"].to_numpy() - 7.0) / 30.0, 0, 1)
"""


@pytest.mark.timeout(900)
async def test_a_challenge_with_its_own_packages_gets_its_own_image(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """runtime.packages → resolved to pins and built by a worker in the background; uploads of models and
    code wait (409) until it is ready; then code that imports a package only that image has scores,
    while the same code on a challenge with the default runtime fails and says what is missing."""
    await load_challenge(settings, bundle(tmp_path / "default"))
    folder = bundle(tmp_path / "own")
    olga = await organiser(settings, client)
    manifest = {"slug": "tumour-own", "runtime": {"packages": ["tabulate"]}}
    created = await create(client, olga, bundle_zip(folder, inside=None, **manifest))
    assert created.status_code == 201, created.text
    assert (await client.post("/api/challenges/tumour-own/publish", headers=olga)).status_code == 200

    waiting = (await client.get("/api/challenges/tumour-own/environment")).json()
    assert waiting["state"] == "queued" and waiting["packages"] == [] and waiting["requested"] == ["tabulate"]
    assert waiting["log"] is None  # the log is for staff
    assert (await client.get("/api/challenges/tumour-own/requirements.txt")).status_code == 409
    ada = await login(client, "ada")
    await announce_sandbox_worker(settings)
    code = zip_bytes({"predict.py": TABULATE_PREDICT})
    refused = await upload(client, ada, "tumour-own", code, filename="code.zip")
    assert refused.status_code == 409, refused.text
    assert "is being prepared (queued)" in refused.json()["detail"]
    assert "prediction files are accepted now" in refused.json()["detail"]

    await drain_queue(settings)  # the worker resolves and builds it
    ready = (await client.get("/api/challenges/tumour-own/environment", headers=olga)).json()
    assert ready["state"] == "ready", ready["log"]
    packages = {p["name"]: p["version"] for p in ready["packages"]}
    locked = {pin.name: pin.version for pin in default_pins()}
    assert "tabulate" in packages
    assert {name: packages.get(name) for name in locked} == locked  # the default's versions beside it
    assert "resolved" in ready["log"] and "ready: riality/env:" in ready["log"]
    requirements = (await client.get("/api/challenges/tumour-own/requirements.txt")).text
    assert f"tabulate=={packages['tabulate']}" in requirements.splitlines()
    assert f"scikit-learn=={locked['scikit-learn']}" in requirements.splitlines()

    await announce_sandbox_worker(settings)  # the heartbeat now lists the new image
    own = await upload(client, ada, "tumour-own", code, filename="code.zip")
    assert own.status_code == 202, own.text
    default = await upload(client, ada, SLUG, code, filename="code.zip")
    assert default.status_code == 202, default.text
    await drain_queue(settings)
    scored, failed = await results(client, ada, [own.json()["id"], default.json()["id"]])
    assert scored["status"] == "scored", scored
    assert failed["status"] == "failed", failed
    assert "No module named 'tabulate'" in failed["error"]


async def test_the_default_environment_is_shown_as_the_lock(
    client: AsyncTestClient, settings: Settings
) -> None:
    await load_challenge(settings, TUMOUR)
    shown = (await client.get(f"/api/challenges/{SLUG}/environment")).json()
    assert shown["state"] == "ready" and shown["python"] == "3.11" and shown["requested"] == []
    assert {p["name"]: p["version"] for p in shown["packages"]} == {p.name: p.version for p in default_pins()}
    requirements = (await client.get(f"/api/challenges/{SLUG}/requirements.txt")).text.splitlines()
    assert "xgboost==" + next(p.version for p in default_pins() if p.name == "xgboost-cpu") in requirements
