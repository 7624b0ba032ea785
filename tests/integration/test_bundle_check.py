"""An uploaded bundle is checked in a child process with its memory and time bounded: a bundle over
either bound is refused with 422 saying which (and how to raise it), nothing of it is kept, and the
API process answers other requests meanwhile (bench/bundles.py measures that and the memory)."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from litestar.testing import AsyncTestClient

from core.settings import Settings
from server.app import create_app
from tests.conftest import EXAMPLES
from tests.integration.test_lifecycle import bundle_zip, create, organiser
from tests.integration.test_model_and_code import zip_bytes

# The database is not the subject here: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def heavy_bundle(tmp_path: Path) -> bytes:
    """The tumour example with two million rows of labels (about 30 MB): its check needs a few
    hundred MB."""
    folder = tmp_path / "heavy"
    shutil.copytree(EXAMPLES / "tumour-detection", folder)
    rows = 2_000_000
    labels = pd.DataFrame(
        {"id": np.char.add("x", np.arange(rows).astype(str)), "diagnosis": np.arange(rows) % 2}
    )
    labels.to_csv(folder / "hidden" / "labels.csv", index=False)
    return bundle_zip(folder, slug="heavy-labels")


@pytest.mark.parametrize(
    ("bound", "said", "ordinary_fits"),
    [
        ({"bundle_check_memory_mb": 900}, "more than 900 MB of memory", True),
        ({"bundle_check_timeout_s": 0.3}, "checking it took longer than 0.3 s", False),
    ],
    ids=["memory", "time"],
)
async def test_a_bundle_over_its_checks_bound_is_refused_and_nothing_is_kept(
    settings: Settings, heavy_bundle: bytes, bound: dict[str, float], said: str, ordinary_fits: bool
) -> None:
    async with AsyncTestClient(app=create_app(settings.with_(**bound))) as client:
        olga = await organiser(settings, client)
        refused = await create(client, olga, heavy_bundle)
        assert refused.status_code == 422, refused.text
        (problem,) = refused.json()["problems"]
        assert problem["path"] == "bundle"
        assert said in problem["message"] or "out of memory" in problem["message"], problem
        assert "RIALITY_BUNDLE_CHECK_" in problem["message"]
        assert (await client.get("/api/challenges", headers=olga)).json() == []
        if ordinary_fits:  # an ordinary bundle's check needs far less: it loads
            ordinary = bundle_zip(EXAMPLES / "dyslexia-gaze")
            assert (await create(client, olga, ordinary)).status_code == 201


def _deep_manifest() -> bytes:
    return zip_bytes({"challenge.yaml": ("a: " + "[" * 50_000 + "]" * 50_000 + "\n").encode()})


def _bad_crc() -> bytes:
    data = zip_bytes({"challenge.yaml": b"slug: x\n" + b"# padding\n" * 200})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        crc = archive.getinfo("challenge.yaml").CRC.to_bytes(4, "little")
    return data.replace(crc, bytes(b ^ 1 for b in crc))


def _codabench_phases_as_strings() -> bytes:
    manifest = {"version": 2, "title": "T", "tasks": [{"index": 0}], "phases": ["a", "b"]}
    return zip_bytes({"competition.yaml": yaml.safe_dump(manifest).encode()})


@pytest.mark.parametrize(
    ("make", "path", "said"),
    [
        (_deep_manifest, "challenge.yaml", "nested too deeply to be a manifest"),
        (_bad_crc, "bundle", "archive entry 'challenge.yaml' is damaged: Bad CRC-32"),
        (
            _codabench_phases_as_strings,
            "competition.yaml phases",
            "each a mapping of fields (got ['a', 'b'])",
        ),
    ],
    ids=["deep yaml", "bad crc", "codabench phases as strings"],
)
async def test_a_malformed_bundle_gets_422_naming_the_problem(
    settings: Settings, client: AsyncTestClient, make: Callable[[], bytes], path: str, said: str
) -> None:
    olga = await organiser(settings, client)
    refused = await create(client, olga, make())
    assert refused.status_code == 422, refused.text
    assert any(p["path"] == path and said in p["message"] for p in refused.json()["problems"]), refused.text
