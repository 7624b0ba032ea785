"""Bring a database's schema up to date with Alembic (called by `riality` and by the tests)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextlib.contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    """One migrating process at a time on a SQLite file (`riality up` and another command on a fresh
    data dir): a lock file beside it. PostgreSQL takes an advisory lock instead (env.py)."""
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _run(step: Callable[..., None], url: str, revision: str) -> None:
    """Run an Alembic command under the migration lock; from inside a running event loop, on its own
    thread (env.py uses asyncio.run)."""

    def locked() -> None:
        with _sqlite_lock(url):
            step(alembic_config(url), revision)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        locked()
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(locked).result()


def upgrade(url: str, revision: str = "head") -> None:
    _run(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    _run(command.downgrade, url, revision)
