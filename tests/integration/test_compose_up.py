"""compose.yaml run for real: `docker-compose up` of PostgreSQL, Redis, two API replicas behind the
proxy and a worker that starts participants' containers on the host's Docker daemon; a team then
signs in, uploads a prediction file and a model through the proxy, and both are scored.

This machine reaches Debian's packages but no container registry, so the registry images are stood
in for by Debian's PostgreSQL 15, Redis 7 and Caddy 2 (tests/compose/), and the platform image is the
project's own Dockerfile built on riality's Debian base with this machine's trust store (its egress
to the package index is TLS-inspected). compose.yaml takes the images by setting, as an operator with
a registry mirror would set them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runner.images import BASE_IMAGE, build_runtime_image
from runner.sandbox import Sandbox
from server.processes import free_port
from tests.integration.test_model_and_code import fitted_model, rule_predictions

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = {"POSTGRES_IMAGE": "postgres", "REDIS_IMAGE": "redis", "PROXY_IMAGE": "caddy"}
TRUST_STORE = Path("/etc/ssl/certs/ca-certificates.crt")
PASSWORD = "compose-pass-1"

pytestmark = pytest.mark.timeout(1200)


def _docker(*args: str, cwd: Path | None = None, timeout: int = 900) -> str:
    done = subprocess.run(
        ["docker", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _build_images(tmp: Path) -> dict[str, str]:
    """The platform image and the stand-ins, tagged for this run (Docker's layer cache makes a
    second run quick)."""
    build_runtime_image(Sandbox().client, offline=True)  # scripts/test.sh built it; the base comes with it
    trusted = tmp / "trusted-base"
    trusted.mkdir()
    shutil.copy(TRUST_STORE, trusted / "ca-certificates.crt")
    (trusted / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
    )
    base = "riality/compose-base:test"
    _docker("build", "-q", "--build-arg", f"BASE={BASE_IMAGE}", "-t", base, str(trusted))
    builds = {"RIALITY_IMAGE": ("riality:compose-test", ROOT)} | {
        setting: (f"riality/compose-{name}:test", ROOT / "tests" / "compose" / name)
        for setting, name in STAND_INS.items()
    }
    for tag, context in builds.values():  # apt and pip inside: the host's network
        _docker("build", "-q", "--network", "host", "--build-arg", f"BASE={base}", "-t", tag, str(context))
    return {setting: tag for setting, (tag, _) in builds.items()}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The deployment's URL (the proxy) and the docker-compose command line that runs it."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: scripts/setup.sh installs it")
    tmp = tmp_path_factory.mktemp("compose")
    images = _build_images(tmp)
    data = tmp / "data"  # the same path on the host and in the containers (run folders are mounted by it)
    data.mkdir()
    os.chown(data, 1000, 1000)  # the image's user
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RIALITY_", "POSTGRES_", "REDIS_"))},
        **images,
        "RIALITY_DATA": str(data),
        "RIALITY_PORT": str(port),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "API_REPLICAS": "2",
        "WORKERS": "1",
        "RIALITY_IMAGE_BUILD_FLAGS": "--offline",  # the host built it so: the worker finds it current
    }
    project = f"rialitytest{uuid.uuid4().hex[:8]}"
    command = [compose, "--project-directory", str(ROOT), "-f", str(ROOT / "compose.yaml"), "-p", project]
    # --compatibility: docker-compose 1.x honours deploy.replicas only so (Compose v2 always does).
    up = subprocess.run(
        [*command, "--compatibility", "up", "-d", "--no-build"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield f"http://127.0.0.1:{port}", command
    finally:
        logs = subprocess.run(
            [*command, "logs", "--no-color", "--tail", "40"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(logs.stdout[-20000:])
        subprocess.run(
            [*command, "down", "-v", "--remove-orphans"],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )


def _healthy_with_a_docker_worker(http: httpx.Client, wait_s: float = 240) -> dict[str, object]:
    deadline = time.monotonic() + wait_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            body = http.get("/api/health").json()
        except (httpx.HTTPError, ValueError):
            body = {}
        workers = body.get("workers") or []
        if body.get("status") == "ok" and any(w["docker"] for w in workers):  # type: ignore[union-attr, index]
            return body
        time.sleep(2)
    raise AssertionError(f"the deployment did not become healthy with a Docker worker: {body}")


def _scored(
    http: httpx.Client, headers: dict[str, str], submission_id: int, wait_s: float = 180
) -> dict[str, object]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        body = http.get(f"/api/submissions/{submission_id}", headers=headers).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(1)
    raise AssertionError(f"submission {submission_id} still {body['status']} after {wait_s} s")


def test_compose_runs_the_platform_and_scores_files_and_models(deployment: tuple[str, list[str]]) -> None:
    url, command = deployment
    with httpx.Client(base_url=url, timeout=30) as http:
        health = _healthy_with_a_docker_worker(http)
        assert health["database"] == "ok" and health["redis"] == "ok"
        # The migrate service loaded the examples; each API replica serves them through the proxy.
        slugs = {c["slug"] for c in http.get("/api/challenges").json()}
        assert "tumour-detection" in slugs
        http.post("/api/auth/register", json={"username": "composer", "password": PASSWORD})
        token = http.post("/api/auth/token", json={"username": "composer", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        uploads = [("rule.csv", rule_predictions()), ("model.joblib", fitted_model())]
        for name, payload in uploads:
            sent = http.post(
                "/api/challenges/tumour-detection/submissions",
                files={"file": (name, payload)},
                headers=headers,
            )
            assert sent.status_code == 202, sent.text
            done = _scored(http, headers, sent.json()["id"])
            assert done["status"] == "scored", done
            assert 0.5 < float(done["public_score"]) <= 1.0  # type: ignore[arg-type]
        board = http.get("/api/challenges/tumour-detection/leaderboard").json()
        assert [e["team"] for e in board["entries"]] == ["composer"]
    status = subprocess.run(
        [*command, "exec", "-T", "api", "riality", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert "Live workers" in status.stdout and "No submission is waiting" in status.stdout
