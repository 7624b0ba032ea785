"""Sandbox availability comes from the workers' heartbeats, not from the API's own host."""

from __future__ import annotations

from pathlib import Path

import httpx

from core.settings import Settings
from tests.conftest import api_process, worker_process
from tests.helpers import load_challenge, login, until_workers, upload, wait_for_status
from tests.integration.test_model_and_code import PREDICT_RULE, SLUG, bundle, zip_bytes

NOWHERE = {"DOCKER_HOST": "tcp://127.0.0.1:9"}  # no Docker daemon answers there


async def test_an_api_without_docker_accepts_code_that_a_worker_with_docker_runs(
    settings: Settings, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path))
    code = zip_bytes({"predict.py": PREDICT_RULE})
    with api_process(settings, tmp_path / "api.log", **NOWHERE) as api:
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            headers = await login(http, "ada")
            alone = await upload(http, headers, SLUG, code, filename="code.zip")
            assert alone.status_code == 503 and "no worker is running" in alone.json()["detail"]
            with worker_process(settings, tmp_path / "blind-worker.log", **NOWHERE):
                (blind,) = await until_workers(http, 1)
                assert blind["docker"] is False and blind["reason"]
                refused = await upload(http, headers, SLUG, code, filename="code.zip")
                assert refused.status_code == 503 and blind["host"] in refused.json()["detail"]
            await until_workers(http, 0)  # a stopped worker leaves the list at once
            with worker_process(settings, tmp_path / "worker.log"):
                (able,) = await until_workers(http, 1)
                assert able["docker"] is True and able["free_slots"] >= 1
                accepted = await upload(http, headers, SLUG, code, filename="code.zip")
                assert accepted.status_code == 202, accepted.text
                done = await wait_for_status(http, headers, accepted.json()["id"], {"scored", "failed"}, 90)
                assert done["status"] == "scored", done
