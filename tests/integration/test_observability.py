"""/metrics (Prometheus text format) and the workers' JSON-lines logs, with real processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from core.settings import Settings
from server.app import create_app
from tests.conftest import worker_process
from tests.helpers import load_challenge, login, upload, wait_for_status
from tests.integration.test_model_and_code import PREDICT_RULE, SLUG, bundle, rule_predictions, zip_bytes


async def samples(
    http: httpx.AsyncClient | AsyncTestClient, **headers: str
) -> dict[tuple[str, frozenset], float]:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(data: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return data.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.timeout(300)
async def test_metrics_move_when_submissions_are_scored_and_logs_are_json_lines(
    settings: Settings, api: str, tmp_path: Path
) -> None:
    await load_challenge(settings, bundle(tmp_path))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        ada = await login(http, "ada")
        before = await samples(http)
        assert value(before, "riality_workers_live") == 0
        sent = (await upload(http, ada, SLUG, rule_predictions())).json()["id"]
        queued = await samples(http)
        assert value(queued, "riality_submissions", status="queued", kind="predictions") == 1
        assert value(queued, "riality_queue_jobs", lane="predictions", state="waiting") == 1
        log = tmp_path / "worker.log"
        with worker_process(settings, log, RIALITY_LOG_FORMAT="json"):
            assert (await wait_for_status(http, ada, sent, {"scored"}, 60))["status"] == "scored"
            for _ in range(100):  # the heartbeat comes within a second of the start
                if value(scored := await samples(http), "riality_workers_live") == 1:
                    break
                await asyncio.sleep(0.1)
            code = await upload(http, ada, SLUG, zip_bytes({"predict.py": PREDICT_RULE}), filename="code.zip")
            assert code.status_code == 202, code.text
            assert (await wait_for_status(http, ada, code.json()["id"], {"scored"}, 120))[
                "status"
            ] == "scored"
            after = await samples(http)
    assert value(scored, "riality_submissions", status="scored", kind="predictions") == 1
    assert value(scored, "riality_submissions", status="queued", kind="predictions") == 0
    assert value(scored, "riality_evaluation_seconds_count", kind="predictions", status="scored") == 1
    assert (
        value(scored, "riality_evaluation_seconds_bucket", kind="predictions", status="scored", le="+Inf")
        == 1
    )
    assert (
        value(scored, "riality_worker_sandbox_slots", worker=next(iter(_workers(scored))), state="total") >= 1
    )
    assert value(after, "riality_sandbox_runs_total", outcome="ok") == 1
    assert value(after, "riality_evaluation_seconds_count", kind="code", status="scored") == 1
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "levelname", "name", "message"} <= set(line) for line in lines)
    about = [line for line in lines if line.get("submission") == sent]
    assert about and all(line.get("challenge") == SLUG for line in about if "kind" in line)
    assert any(line.get("challenge") == SLUG for line in about)


def _workers(data: dict[tuple[str, frozenset], float]) -> set[str]:
    return {dict(labels)["worker"] for name, labels in data if name == "riality_worker_sandbox_slots"}


async def test_live_streams_and_board_rebuilds_are_counted(settings: Settings, api: str) -> None:
    await load_challenge(settings, bundle(Path(settings.data_dir).parent))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        assert value(await samples(http), "riality_live_streams") == 0
        async with http.stream("GET", f"/api/challenges/{SLUG}/leaderboard/stream") as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()  # kept: a dropped iterator would close the stream
            assert await anext(lines) == "event: snapshot"  # sent: the stream is counted by now
            watching = await samples(http)
        await http.get(f"/api/challenges/{SLUG}/leaderboard")
        data = await samples(http)
    assert value(watching, "riality_live_streams") == 1
    assert value(data, "riality_board_rebuilds_total", what="page") >= 1


async def test_metrics_want_the_token_when_one_is_set(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings.with_(metrics_token="s3cret-metrics"))) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401 and "RIALITY_METRICS_TOKEN" in refused.json()["detail"]
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (
            value(await samples(client, Authorization="Bearer s3cret-metrics"), "riality_workers_live") == 0
        )
