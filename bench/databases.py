"""A fresh PostgreSQL database for one benchmark run, dropped after: runs do not inherit each
other's rows (a table that grows run after run would slow the later ones)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


async def _execute(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new database on the server of `server_url` (any database of it); SQLite's "" stays ""."""
    if not server_url:
        yield ""
        return
    name = f"{prefix}_{os.getpid()}"
    asyncio.run(_execute(server_url, f"CREATE DATABASE {name}"))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_execute(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
