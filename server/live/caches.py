"""Two small caches behind the board reads: encoded pages per change, and values kept for seconds."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from server.live.changes import BoardChanges
from server.live.flight import SingleFlight

T = TypeVar("T")
MAX_CACHED = 1024


class PageCache:
    """What a build makes for one audience of a board, built at most once per change of the board."""

    def __init__(self, changes: BoardChanges, flight: SingleFlight) -> None:
        self.changes = changes
        self.flight = flight
        self._pages: dict[tuple[str, str], tuple[int, Any]] = {}

    async def get(self, slug: str, audience: str, build: Callable[[], Awaitable[T]]) -> T:
        """Everyone asking while it is being built awaits the same build: after a change, a thousand
        streams wake at once and must not queue behind a lock one by one."""
        key = (slug, audience)
        version = self.changes.version(slug)
        cached = self._pages.get(key)
        if cached is not None and cached[0] == version:
            return cast(T, cached[1])

        async def build_and_keep() -> T:
            body = await build()
            cached = self._pages.get(key)
            if cached is None or cached[0] <= version:  # a slower, older build must not replace a newer one
                if len(self._pages) >= MAX_CACHED:  # pages of any offset can be asked for: keep the newest
                    self._pages.pop(next(iter(self._pages)))
                self._pages.pop(key, None)
                self._pages[key] = (version, body)
            return body

        return await self.flight.run(("render", slug, audience), version, build_and_keep)


class RecentCache:
    """A value kept for a few seconds (the challenge row behind every board read)."""

    def __init__(self, flight: SingleFlight) -> None:
        self.flight = flight
        self.values: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, ttl_s: float, build: Callable[[], Awaitable[T]]) -> T:
        kept = self.values.get(key)
        if kept is not None and time.monotonic() - kept[0] < ttl_s:
            return cast(T, kept[1])

        async def refresh() -> T:
            started = time.monotonic()
            value = await build()
            if len(self.values) >= MAX_CACHED:
                self.values.pop(next(iter(self.values)))
            self.values[key] = (started, value)
            return value

        return await self.flight.run(("recent", key), 0, refresh)

    def forget(self, key: str) -> None:
        self.values.pop(key, None)
