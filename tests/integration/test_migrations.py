"""The migrations build exactly the schema the models describe, and step down and up again."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from core import models  # noqa: F401  (registers the tables)
from core.db import create_engine
from core.migrate import downgrade, upgrade


async def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def compare(sync: Connection) -> list[object]:
                return list(compare_metadata(MigrationContext.configure(sync), SQLModel.metadata))

            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    assert await schema_differences(database_url) == []


async def test_the_latest_migration_steps_down_and_up_again(database_url: str) -> None:
    downgrade(database_url, "0003")
    kinds = [
        diff[0] if isinstance(diff, tuple) else diff[0][0] for diff in await schema_differences(database_url)
    ]
    assert {"add_table", "add_column", "add_fk"} <= set(kinds)
    upgrade(database_url)
    assert await schema_differences(database_url) == []


async def test_processes_migrating_a_fresh_database_at_once_all_succeed(database_url: str) -> None:
    """`riality user create` while `riality up` migrated a fresh data dir made `up` exit ('table
    challenge already exists'): migrations take a lock, and the later ones find nothing to do."""
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(Path(make_url(database_url).database or "").unlink)
    else:
        downgrade(database_url, "base")
    codes, errors = await asyncio.to_thread(_migrate_at_once, database_url, 4)
    assert codes == [0] * 4, "\n".join(e[-2000:] for e in errors)
    assert await schema_differences(database_url) == []


def _migrate_at_once(url: str, processes: int) -> tuple[list[int], list[str]]:
    script = "import sys; from core.migrate import upgrade; upgrade(sys.argv[1])"
    started = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    errors = [process.communicate(timeout=180)[1] for process in started]
    return [process.returncode for process in started], errors
