"""The async engine and sessions, with the per-backend settings that make concurrent writes safe."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Column, ColumnElement, event, literal_column
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.settings import Settings

SessionMaker = async_sessionmaker[AsyncSession]


def target_column(column: Column[Any]) -> ColumnElement[Any]:
    """A column of an UPDATE's or DELETE's own table, as a subquery in its RETURNING clause must name
    it. SQLite's compiler drops the table from every name in a RETURNING clause, subqueries included:
    there a bare `id` binds to the subquery's own table, so a correlation written as
    `other.id == table.c.id` compares a row with itself. Qualified by hand, it holds on both databases."""
    return literal_column(f"{column.table.name}.{column.name}", type_=column.type)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # writers queue up instead of failing
    cursor.close()


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Test a pooled connection as it is taken, if it sat idle longer than `idle_s`: one the server
    dropped meanwhile (a restart, a failover) is replaced instead of failing the request. A ping is
    three round trips on asyncpg (BEGIN, ';', ROLLBACK): pinging every checkout cost the API about
    a third of an upload's database work in a rush, where connections never sit idle."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and takes another
            raise DisconnectionError(f"a pooled connection idle for {idle_s} s no longer answers") from exc


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    pool_timeout: float = 30.0,
    ping_after_idle_s: float | None = 0.0,
) -> AsyncEngine:
    """`ping_after_idle_s`: test a pooled connection as it is taken (a round trip) when it sat idle
    longer than this (0: always; None: never), so that one the server dropped is replaced instead of
    failing the caller."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_pre_ping=ping_after_idle_s == 0, **pool)
    if ping_after_idle_s:
        _ping_when_idle(engine, ping_after_idle_s)
    return engine


def engine_for(settings: Settings, *, ping_after_idle_s: float | None = 0.0) -> AsyncEngine:
    """A long-lived process's engine (the API, a worker), with the pool its settings ask for."""
    return create_engine(
        settings.database,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        ping_after_idle_s=ping_after_idle_s,
    )


AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def outside_transaction(session: AsyncSession) -> None:
    """Run the session's next statements outside a transaction, each one atomic by itself: no BEGIN
    and COMMIT round trips. Call first, before the session takes its connection (the pool resets the
    option when the connection goes back, and a commit ends it). A transaction already begun goes on."""
    if not session.in_transaction():
        await session.connection(execution_options=AUTOCOMMIT)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
