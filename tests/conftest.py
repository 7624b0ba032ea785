"""Shared fixtures: a real Redis server, a real database (SQLite and PostgreSQL), the app and a worker.

Every integration test that takes `settings` runs once per database backend. PostgreSQL tests
need RIALITY_TEST_POSTGRES_URL (scripts/test.sh sets it); without it they are skipped locally and
fail in CI, so a misconfigured CI cannot pass by skipping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from core.migrate import upgrade
from core.settings import Settings
from server.app import create_app
from server.processes import free_port, start_redis, stop_processes, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "challenges" / "examples"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_redis(tmp_path_factory.mktemp("redis"), persistent=False)
    try:
        yield url
    finally:
        stop_processes([process])


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    return redis_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def _postgres_admin_url() -> str | None:
    url = os.environ.get("RIALITY_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("RIALITY_TEST_POSTGRES_URL is not set in CI: PostgreSQL tests would silently not run")
        pytest.skip("RIALITY_TEST_POSTGRES_URL not set (run scripts/test.sh)")
    return url


def _asyncpg_dsn(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def _pg(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url, make_url(url).database or "postgres"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    admin = _postgres_admin_url()
    assert admin is not None
    name = f"riality_tpl_{os.getpid()}"
    asyncio.run(_pg(admin, f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(_pg(admin, f"CREATE DATABASE {name}"))
    upgrade(make_url(admin).set(database=name).render_as_string(hide_password=False))
    try:
        yield admin, name
    finally:
        asyncio.run(_pg(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "riality.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    admin, template_name = request.getfixturevalue("postgres_template")
    name = f"riality_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(admin, f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def settings(database_url: str, clean_redis: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=clean_redis,
        reconcile_after_s=60,
        uncertainty_period_s=0.05,  # a burst worker waits for deferred jobs: keep the pass's short
        # Thousands of sign-ins: argon2 at its lowest cost (tests/unit/test_passwords.py pins the real one).
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`riality api` in its own process, as deployed."""
    with api_process(settings, tmp_path / "api.log") as url:
        yield url


@pytest.fixture
def second_api(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Another `riality api` process on the same database and Redis (as behind a load balancer)."""
    with api_process(settings, tmp_path / "api-2.log") as url:
        yield url


@contextlib.contextmanager
def api_process(settings: Settings, log_path: Path, **extra_env: str) -> Iterator[str]:
    with api_server(settings, log_path, **extra_env) as (url, _):
        yield url


@contextlib.contextmanager
def api_server(
    settings: Settings, log_path: Path, **extra_env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`riality api` in its own process: its URL and the process (for tests that kill it)."""
    port = free_port()
    env = {**os.environ, **settings.with_(port=port).to_env(), **extra_env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "api"], env=env, stdout=log, stderr=log
        )
        try:
            wait_for_port(port, timeout=30, process=process)
            yield f"http://127.0.0.1:{port}", process
        finally:
            stop_processes([process])


@contextlib.contextmanager
def worker_process(settings: Settings, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`riality worker` in its own process, as deployed."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            env={**os.environ, **settings.to_env(), **extra_env},
            stdout=log,
            stderr=log,
        )
        try:
            yield process
        finally:
            stop_processes([process])


def run_cli(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env()}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )
