"""The migrations build exactly the schema the models describe, and step down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
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
