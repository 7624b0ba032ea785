"""compose.yaml, validated and resolved by docker-compose itself (scripts/setup.sh installs it): what
the deployment promises in the README holds in the file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LONG_RUNNING = {"postgres", "redis", "api", "proxy", "worker"}


def resolved(**env: str) -> dict[str, Any]:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: scripts/setup.sh installs it")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RIALITY_", "POSTGRES_", "REDIS_"))}
    done = subprocess.run(
        [compose, "--project-directory", str(ROOT), "-f", str(ROOT / "compose.yaml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose_is_valid_and_every_service_has_a_health_check() -> None:
    services = resolved()["services"]
    assert set(services) == LONG_RUNNING | {"migrate"}
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"


def test_redis_keeps_its_queue_on_disk() -> None:
    redis = resolved()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert any(volume.endswith(":/data:rw") or volume.endswith(":/data") for volume in _volumes(redis))


def test_workers_scale_see_docker_and_the_data_dir_at_the_hosts_path() -> None:
    services = resolved(WORKERS="3", API_REPLICAS="2", RIALITY_DATA="/mnt/nfs/riality")["services"]
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 3 and services["api"]["deploy"]["replicas"] == 2
    volumes = _volumes(worker)
    assert any(v.startswith("/var/run/docker.sock:/var/run/docker.sock") for v in volumes)
    # Run folders are mounted into participants' containers by the host's daemon: same path inside.
    assert any(v.startswith("/mnt/nfs/riality:/mnt/nfs/riality") for v in volumes)
    for name in ("api", "worker", "migrate"):
        assert services[name]["environment"]["RIALITY_DATA_DIR"] == "/mnt/nfs/riality", name


def test_gvisor_gpus_and_remote_services_are_settings() -> None:
    env = resolved(
        RIALITY_SANDBOX_RUNTIME="runsc",
        RIALITY_WORKER_GPUS="1",
        POSTGRES_HOST="db.internal",
        REDIS_HOST="q.internal",
    )["services"]["worker"]["environment"]
    assert env["RIALITY_SANDBOX_RUNTIME"] == "runsc" and env["RIALITY_WORKER_GPUS"] == "1"
    assert (
        "@db.internal:5432/" in env["RIALITY_DATABASE_URL"]
        and env["REDIS_URL"] == "redis://q.internal:6379/0"
    )


def test_every_setting_compose_passes_is_one_riality_reads() -> None:
    known = set(Settings().to_env())
    services = resolved()["services"]
    passed = {name for service in services.values() for name in service.get("environment", {})}
    riality = {name for name in passed if name.startswith("RIALITY_") or name == "REDIS_URL"}
    assert riality <= known, riality - known
    example = (ROOT / ".env.example").read_text()
    compose_own = set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))  # e.g. RIALITY_DATA
    for name in re.findall(r"^(RIALITY_\w+)=", example, flags=re.M):
        assert name in known or name in compose_own, name


def _volumes(service: dict[str, Any]) -> list[str]:
    return [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in service.get("volumes", [])]
