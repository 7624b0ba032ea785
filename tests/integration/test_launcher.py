"""`riality up`, as the README runs it: its own Redis, SQLite, API and worker; clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from server.processes import free_port
from tests.helpers import PASSWORD, csv_bytes
from tests.integration.test_submissions import tumour_predictions


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"riality up exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"riality up never became healthy:\n{log.read_text()[-3000:]}")


def _up(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RIALITY_DATABASE_URL")}
    log = tmp_path / "up.log"
    command = [
        sys.executable,
        "-m",
        "server.cli",
        "up",
        "--data-dir",
        str(tmp_path / "data"),
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *extra], env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, port, log


def _worker(process: subprocess.Popen[bytes]) -> psutil.Process | None:
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline()[-1:] == ["worker"]:
                return child
        except psutil.Error:  # gone meanwhile
            continue
    return None


def test_a_killed_worker_is_restarted_and_the_site_stays_up(tmp_path: Path) -> None:
    process, port, log = _up(tmp_path, "--no-examples")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, log)
        first = _worker(process)
        assert first is not None
        first.kill()  # as the kernel's out-of-memory killer would
        deadline = time.monotonic() + 20
        while (second := _worker(process)) is None or second.pid == first.pid:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert process.poll() is None, "the launcher stopped"
        assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200
        text = log.read_text()
        assert "riality: worker exited with code -9" in text and "riality: worker restarted" in text
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]


def _status(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RIALITY_DATABASE_URL")}
    command = [sys.executable, "-m", "server.cli", "status", "--json", "--data-dir", str(tmp_path / "data")]
    for _ in range(50):  # the second worker's first heartbeat may still be coming
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        status = json.loads(done.stdout)
        if len(status["workers"]) >= 2:
            break
        time.sleep(0.2)
    return status


def test_up_serves_examples_scores_an_upload_and_stops_cleanly(tmp_path: Path) -> None:
    process, port, log = _up(tmp_path, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, log)
        children = psutil.Process(process.pid).children(recursive=True)
        assert any("redis-server" in c.name() for c in children)
        slugs = sorted(c["slug"] for c in httpx.get(f"{base}/api/challenges").json())
        assert slugs == [
            "digits-vision-aid",
            "dyslexia-gaze",
            "smartport-vessel-delay",
            "tumour-detection",
            "tumour-segmentation",
        ]
        assert (
            httpx.post(
                f"{base}/api/auth/register", json={"username": "ada", "password": PASSWORD}
            ).status_code
            == 201
        )
        token = httpx.post(f"{base}/api/auth/token", json={"username": "ada", "password": PASSWORD}).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        data = csv_bytes(tumour_predictions()[0])
        sent = httpx.post(
            f"{base}/api/challenges/tumour-detection/submissions",
            files={"file": ("p.csv", data)},
            headers=headers,
        )
        assert sent.status_code == 202
        deadline = time.monotonic() + 30
        while (body := httpx.get(f"{base}/api/submissions/{sent.json()['id']}", headers=headers).json())[
            "status"
        ] == "queued" or body["status"] == "running":
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        assert body["status"] == "scored"
        assert f"riality is up at http://127.0.0.1:{port}/" in log.read_text()
        status = _status(tmp_path)  # another shell, no REDIS_URL: it finds the Redis up started
        assert status["queued"] == 0 and status["oldest"] is None
        assert len({w["worker"] for w in status["workers"]}) == 2, status["workers"]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    assert "riality stopped" in log.read_text()
    assert not (tmp_path / "data" / "redis.url").exists()  # the next commands will not look for it
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the API still listens after the stop"
