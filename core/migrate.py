"""Bring a database's schema up to date with Alembic (called by `riality` and by the tests)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _run(step: Callable[..., None], url: str, revision: str) -> None:
    """Run an Alembic command; from inside a running event loop, on its own thread (env.py uses asyncio.run)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        step(alembic_config(url), revision)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(step, alembic_config(url), revision).result()


def upgrade(url: str, revision: str = "head") -> None:
    _run(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    _run(command.downgrade, url, revision)
