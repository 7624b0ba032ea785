"""Live boards: one Redis subscription per API process, fanned out to the streams open in that process.

The worker publishes "board changed" on `riality:board:<slug>` when it writes a score. Each API
process relays it to its own subscribers, so any number of API processes behind a proxy all work.
A board is rebuilt once per change and per audience, not once per open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runner.queue import board_channel

log = logging.getLogger(__name__)

PATTERN = board_channel("*")
T = TypeVar("T")
MAX_CACHED = 1024


class BoardHub:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._versions: dict[str, int] = defaultdict(int)
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._recent: dict[str, tuple[float, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    @property
    def open_streams(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="board-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _relay(self) -> None:
        """Relay every 'board changed' message; reconnect with a back-off if Redis goes away."""
        delay = 0.5
        while True:
            client = aioredis.from_url(self.redis_url)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(PATTERN)
                self.subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self.changed(message["channel"].decode().rpartition(":")[2])
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("board hub lost Redis (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                    await client.aclose()

    def changed(self, slug: str) -> None:
        self._versions[slug] += 1
        for event in self._listeners.get(slug, ()):
            event.set()

    @contextlib.contextmanager
    def listen(self, slug: str) -> Iterator[asyncio.Event]:
        """An event set whenever the challenge's board changes; unregistered when the stream ends."""
        event = asyncio.Event()
        self._listeners[slug].add(event)
        try:
            yield event
        finally:
            self._listeners[slug].discard(event)
            if not self._listeners[slug]:
                del self._listeners[slug]

    async def recent(self, key: str, ttl_s: float, build: Callable[[], Awaitable[T]]) -> T:
        """A value kept for a few seconds (the challenge row behind every board read)."""
        kept = self._recent.get(key)
        if kept is not None and time.monotonic() - kept[0] < ttl_s:
            return cast(T, kept[1])
        async with self._locks[("recent", key)]:  # one refresh at a time, not one per waiting request
            kept = self._recent.get(key)
            now = time.monotonic()
            if kept is not None and now - kept[0] < ttl_s:
                return cast(T, kept[1])
            value = await build()
            if len(self._recent) >= MAX_CACHED:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = (now, value)
            return value

    async def render(self, slug: str, audience: str, build: Callable[[], Awaitable[T]]) -> T:
        """What `build` makes for one audience of a challenge's board, built at most once per change."""
        if not self.subscribed.is_set():
            return await build()  # no news from Redis: a cached board could be stale
        key = (slug, audience)
        async with self._locks[key]:
            version = self._versions[slug]
            cached = self._cache.get(key)
            if cached is not None and cached[0] == version:
                return cast(T, cached[1])
            body = await build()
            if len(self._cache) >= MAX_CACHED:  # pages of any offset can be asked for: keep the newest only
                self._cache.pop(next(iter(self._cache)))
            self._cache.pop(key, None)
            self._cache[key] = (version, body)
            return body


async def board_events(
    hub: BoardHub,
    slug: str,
    audience: str,
    build: Callable[[], Awaitable[bytes]],
    *,
    keepalive_s: float = 15.0,
) -> AsyncIterator[tuple[str, bytes | None]]:
    """('snapshot', board) first, then ('board', board) after each change, and ('ping', None) when idle."""
    with hub.listen(slug) as changed:
        yield "snapshot", await hub.render(slug, audience, build)
        while True:
            try:
                await asyncio.wait_for(changed.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield "ping", None
                continue
            changed.clear()
            yield "board", await hub.render(slug, audience, build)
