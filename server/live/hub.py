"""The live boards of one API process: the pieces below, wired together.

The worker publishes "board changed" on `riality:board:<slug>` when it writes a score. Each API
process relays it (`RedisRelay`) to its own streams (`BoardChanges`), so any number of API processes
behind a proxy all work. The message names the team whose entry changed: the process rereads that
team only (`KeptBoards`), and each page of a board is encoded once per change and audience, not once
per open stream (`PageCache`). While the relay is not subscribed nothing cached is trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.live import keys
from server.live.caches import PageCache, RecentCache
from server.live.changes import BoardChanges
from server.live.flight import SingleFlight
from server.live.kept import KeptBoards
from server.live.relay import RedisRelay

T = TypeVar("T")


class BoardHub:
    def __init__(self, redis_url: str) -> None:
        self.changes = BoardChanges()
        self.boards = KeptBoards()
        self.flight = SingleFlight()
        self.pages = PageCache(self.changes, self.flight)
        self.rows = RecentCache(self.flight)
        self.relay = RedisRelay(redis_url, self.changed, self._missed_everything)
        self.rebuilds: Counter[str] = Counter()  # for /metrics: what was rebuilt after a change

    @property
    def subscribed(self) -> asyncio.Event:
        return self.relay.subscribed

    @property
    def open_streams(self) -> int:
        return self.changes.open_streams

    async def start(self) -> None:
        await self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()

    def changed(self, slug: str, team_id: int | None = None) -> None:
        """The board of `slug` changed: for one team's entry, or for everyone (team_id None)."""
        self.boards.mark(slug, team_id)
        if team_id is None:  # the challenge itself may have changed (its rules, its title): reread its row
            self.rows.forget(keys.challenge_row(slug))
        self.changes.changed(slug)

    def _missed_everything(self) -> None:
        """On (re)subscribing: changes made while we were not listening went unheard; assume all."""
        for slug in self.changes.slugs() | self.boards.slugs():
            self.changed(slug)

    async def kept(
        self,
        slug: str,
        load: Callable[[], Awaitable[T]],
        refresh: Callable[[T, set[int]], Awaitable[T]],
        phase: str = "",
    ) -> T:
        if not self.subscribed.is_set():
            return await load()

        async def counted_load() -> T:
            self.rebuilds["board"] += 1
            return await load()

        async def counted_refresh(board: T, teams: set[int]) -> T:
            self.rebuilds["entries"] += 1
            return await refresh(board, teams)

        return await self.boards.get(slug, counted_load, counted_refresh, phase)

    def listen(self, slug: str) -> contextlib.AbstractContextManager[asyncio.Event]:
        return self.changes.listen(slug)

    async def render(self, slug: str, audience: str, build: Callable[[], Awaitable[T]]) -> T:
        if not self.subscribed.is_set():
            return await build()  # no news from Redis: a cached board could be stale

        async def counted() -> T:
            self.rebuilds["page"] += 1
            return await build()

        return await self.pages.get(slug, audience, counted)

    async def recent(self, key: str, ttl_s: float, build: Callable[[], Awaitable[T]]) -> T:
        return await self.rows.get(key, ttl_s, build)

    # What the hub holds, for tests that check nothing is left behind.
    @property
    def _building(self) -> dict[tuple[str, ...], Any]:
        return self.flight.running

    @property
    def _recent(self) -> dict[str, Any]:
        return self.rows.values

    @property
    def _locks(self) -> dict[str, asyncio.Lock]:
        return self.boards.locks
