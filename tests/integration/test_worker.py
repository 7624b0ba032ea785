"""The worker under at-least-once delivery: idempotent jobs, and the reconciler finding lost jobs."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlmodel import col

from core.db import create_engine, create_sessionmaker
from core.models import Status, Submission, utcnow
from core.queue import ArqQueue
from core.settings import Settings
from core.storage import BlobStore
from runner.claims import claim_queued_file
from runner.evaluation import Runtime, evaluate_submission
from runner.reconcile import find_stuck, hand_back, reenqueue
from runner.truths import TruthCache
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, upload
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"


async def test_evaluating_twice_changes_nothing(settings: Settings, client: AsyncTestClient) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    headers = await login(client, "ada")
    submission_id = (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    await drain_queue(settings)
    first = (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json()
    engine = create_engine(settings.database)
    try:
        sessions = create_sessionmaker(engine)
        runtime = Runtime(
            truths=TruthCache(BlobStore(settings.blobs_dir)), work_root=settings.data_dir / "runs"
        )
        again = await evaluate_submission(sessions, runtime, submission_id, stale_after=timedelta(minutes=1))
    finally:
        await engine.dispose()
    assert again is None
    assert (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json() == first


async def test_a_file_claimed_outside_a_transaction_leaves_its_connection_transactional(
    settings: Settings, client: AsyncTestClient
) -> None:
    """The claim of a prediction file runs in autocommit (one round trip); the pool's one connection
    must come back transactional, or the result and its team's best would be written apart."""
    await load_challenge(settings, EXAMPLES / SLUG)
    headers = await login(client, "ada")
    submission_id = (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    engine = create_engine(settings.database, pool_size=1, max_overflow=0)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            claimed = await claim_queued_file(session, submission_id)
        async with sessions() as session:  # the same pooled connection
            status = (await session.get(Submission, submission_id)).status  # type: ignore[union-attr]
            await session.exec(
                update(Submission).where(col(Submission.id) == submission_id).values(note="never kept")
            )
            await session.rollback()
        async with sessions() as session:
            after = await session.get(Submission, submission_id)
    finally:
        await engine.dispose()
    assert claimed is not None and status == Status.RUNNING  # the claim itself was kept
    assert after is not None and after.note != "never kept"


async def test_a_worker_scores_with_a_challenges_new_labels_as_soon_as_they_change(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """The worker keeps each challenge's spec and files between prediction files (runner.contexts):
    a new bundle must reach the very next submission it scores."""
    bundle = tmp_path / SLUG
    shutil.copytree(EXAMPLES / SLUG, bundle)
    await load_challenge(settings, bundle)
    headers = await login(client, "ada")
    predictions, public_auc = tumour_predictions()
    engine = create_engine(settings.database)
    try:
        sessions = create_sessionmaker(engine)
        runtime = Runtime(
            truths=TruthCache(BlobStore(settings.blobs_dir)), work_root=settings.data_dir / "runs"
        )

        async def upload_and_score() -> dict[str, object]:
            submission_id = (await upload(client, headers, SLUG, csv_bytes(predictions))).json()["id"]
            await evaluate_submission(sessions, runtime, submission_id, stale_after=timedelta(minutes=1))
            return (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json()

        before = await upload_and_score()
        labels = pd.read_csv(bundle / "hidden" / "labels.csv", dtype=str)
        labels["diagnosis"] = labels["diagnosis"].map({"0": "1", "1": "0"})  # every label flipped
        labels.to_csv(bundle / "hidden" / "labels.csv", index=False)
        await load_challenge(settings, bundle)
        after = await upload_and_score()
    finally:
        await engine.dispose()
    assert before["status"] == after["status"] == "scored"
    assert before["public_score"] == pytest.approx(public_auc)
    assert after["public_score"] == pytest.approx(1 - public_auc)


async def test_reconciler_recovers_a_submission_whose_job_was_lost(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    headers = await login(client, "ada")
    submission_id = (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
    redis.Redis.from_url(
        settings.redis_url
    ).flushall()  # Redis restarted without persistence: the job is gone
    await drain_queue(settings)
    assert (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json()[
        "status"
    ] == "queued"
    engine = create_engine(settings.database)
    queue = await ArqQueue.connect(settings.redis_url)
    try:
        stuck = await find_stuck(create_sessionmaker(engine), older_than=timedelta(0))
        assert [s.submission_id for s in stuck] == [submission_id]
        assert await reenqueue(queue, stuck, round_id=1) == [submission_id]
    finally:
        await queue.close()
        await engine.dispose()
    await drain_queue(settings)
    assert (await client.get(f"/api/submissions/{submission_id}", headers=headers)).json()[
        "status"
    ] == "scored"


async def test_upload_succeeds_when_redis_is_down_and_the_reconciler_catches_up(
    settings: Settings, client: AsyncTestClient
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    headers = await login(client, "ada")
    queue = client.app.state.queue
    real = queue.enqueue_evaluation

    async def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    queue.enqueue_evaluation = broken
    try:
        response = await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))
    finally:
        queue.enqueue_evaluation = real
    assert response.status_code == 202 and response.json()["status"] == "queued"
    engine = create_engine(settings.database)
    try:
        stuck = await find_stuck(create_sessionmaker(engine), older_than=timedelta(0))
    finally:
        await engine.dispose()
    assert [s.submission_id for s in stuck] == [response.json()["id"]]


async def test_a_long_sandbox_run_is_not_taken_for_a_lost_one(
    settings: Settings, client: AsyncTestClient
) -> None:
    """A model or code run may last the challenge's time limit; a prediction file may not."""
    await load_challenge(settings, EXAMPLES / SLUG)  # time_s: 120
    headers = await login(client, "ada")
    ids = [
        (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
        for _ in range(2)
    ]
    engine = create_engine(settings.database)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            ninety_seconds_ago = utcnow() - timedelta(seconds=90)
            for submission_id, kind in zip(ids, ["predictions", "code"], strict=True):
                await session.exec(
                    update(Submission)
                    .where(col(Submission.id) == submission_id)
                    .values(status=Status.RUNNING, started_at=ninety_seconds_ago, kind=kind)
                )
            await session.commit()
        stuck = await find_stuck(sessions, older_than=timedelta(seconds=60))
    finally:
        await engine.dispose()
    assert [s.submission_id for s in stuck] == [ids[0]]


async def test_a_run_whose_worker_died_is_taken_over_without_waiting_for_its_time_limit(
    settings: Settings, client: AsyncTestClient
) -> None:
    """A code run's worker killed: it was re-run only 60 s + 2 × its time limit later (5.3 min for 120 s).
    Once the worker's heartbeat has expired, the reconciler hands the run back to the queue."""
    await load_challenge(settings, EXAMPLES / SLUG)  # time_s: 120
    headers = await login(client, "ada")
    ids = [
        (await upload(client, headers, SLUG, csv_bytes(tumour_predictions()[0]))).json()["id"]
        for _ in range(3)
    ]
    engine = create_engine(settings.database)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            ninety_seconds_ago = utcnow() - timedelta(seconds=90)
            for submission_id, worker in zip(ids, ["dead-host:1", "live-host:2", None], strict=True):
                await session.exec(
                    update(Submission)
                    .where(col(Submission.id) == submission_id)
                    .values(status=Status.RUNNING, started_at=ninety_seconds_ago, kind="code", worker=worker)
                )
            await session.commit()
        stuck = await find_stuck(sessions, older_than=timedelta(seconds=60), live={"live-host:2"})
        assert [(s.submission_id, s.abandoned_by) for s in stuck] == [(ids[0], "dead-host:1")]
        await hand_back(sessions, stuck[0])
        async with sessions() as session:
            statuses = [(await session.get(Submission, i)).status for i in ids]  # type: ignore[union-attr]
        assert statuses == ["queued", "running", "running"]
    finally:
        await engine.dispose()
