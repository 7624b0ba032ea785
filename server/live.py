"""Live boards: one Redis subscription per API process, fanned out to the streams open in that process.

The worker publishes "board changed" on `riality:board:<slug>` when it writes a score. Each API
process relays it to its own subscribers, so any number of API processes behind a proxy all work.
The message names the team whose entry changed: the process rereads that team only (`kept`), and
each page of a board is encoded once per change and audience, not once per open stream (`render`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.queue import board_channel, board_team

log = logging.getLogger(__name__)

PATTERN = board_channel("*")
T = TypeVar("T")
MAX_CACHED = 1024


@dataclass(slots=True)
class _Kept:
    stale: set[int] | None  # teams changed since `value` was read; None: read it all again
    value: Any = None


class BoardHub:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._versions: dict[str, int] = defaultdict(int)
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one per challenge
        self._recent: dict[str, tuple[float, Any]] = {}
        self._kept: dict[str, _Kept] = {}
        self._building: dict[tuple[str, ...], tuple[int, asyncio.Future[Any]]] = {}
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
                self._missed_everything()
                self.subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        slug = message["channel"].decode().rpartition(":")[2]
                        self.changed(slug, board_team(message["data"]))
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("board hub lost Redis (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                    await client.aclose()

    def changed(self, slug: str, team_id: int | None = None) -> None:
        """The board of `slug` changed: for one team's entry, or for everyone (team_id None)."""
        self._versions[slug] += 1
        kept = self._kept.get(slug)
        if kept is not None:
            if team_id is None:
                kept.stale = None
            elif kept.stale is not None:
                kept.stale.add(team_id)
        for event in self._listeners.get(slug, ()):
            event.set()

    def _missed_everything(self) -> None:
        """On (re)subscribing: changes made while we were not listening went unheard; assume all."""
        for slug in {*self._versions, *self._kept, *self._listeners}:
            self.changed(slug)

    async def kept(
        self,
        slug: str,
        load: Callable[[], Awaitable[T]],
        refresh: Callable[[T, set[int]], Awaitable[T]],
    ) -> T:
        """A challenge's board data: loaded once, then refreshed only for the teams that changed since.

        A change heard while loading or refreshing marks its team again, so the next call catches it
        (the worker commits before it publishes, so a team marked before a read is seen by that read).
        """
        if not self.subscribed.is_set():
            return await load()
        async with self._locks[slug]:
            kept = self._kept.get(slug)
            if kept is None or kept.stale is None:
                kept = self._kept[slug] = _Kept(stale=set())
                try:
                    kept.value = await load()
                except BaseException:
                    if self._kept.get(slug) is kept:
                        del self._kept[slug]
                    raise
            elif kept.stale:
                teams, kept.stale = kept.stale, set()
                try:
                    kept.value = await refresh(kept.value, teams)
                except BaseException:
                    kept.stale = None  # the refresh may have been half applied: reload it all next time
                    raise
            return cast(T, kept.value)

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

        async def refresh() -> T:
            started = time.monotonic()
            value = await build()
            if len(self._recent) >= MAX_CACHED:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = (started, value)
            return value

        return await self._once(("recent", key), 0, refresh)

    async def render(self, slug: str, audience: str, build: Callable[[], Awaitable[T]]) -> T:
        """What `build` makes for one audience of a challenge's board, built at most once per change.

        Everyone asking while it is being built awaits the same build: after a change, a thousand
        streams wake at once and must not queue behind a lock one by one.
        """
        if not self.subscribed.is_set():
            return await build()  # no news from Redis: a cached board could be stale
        key = (slug, audience)
        version = self._versions[slug]
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version:
            return cast(T, cached[1])

        async def build_and_keep() -> T:
            body = await build()
            cached = self._cache.get(key)
            if cached is None or cached[0] <= version:  # a slower, older build must not replace a newer one
                if len(self._cache) >= MAX_CACHED:  # pages of any offset can be asked for: keep the newest
                    self._cache.pop(next(iter(self._cache)))
                self._cache.pop(key, None)
                self._cache[key] = (version, body)
            return body

        return await self._once(("render", slug, audience), version, build_and_keep)

    async def _once(self, key: tuple[str, ...], version: int, build: Callable[[], Awaitable[T]]) -> T:
        """`build()` run once for everyone who asks for the same key and version while it runs.

        Shielded: a caller that goes away (a closed stream) does not cancel it for the others. Only
        running builds are held here, so any number of keys can be asked for without growing it.
        """
        running = self._building.get(key)
        if running is None or running[0] != version:
            task = asyncio.ensure_future(build())
            running = self._building[key] = (version, task)

            def done(task: asyncio.Future[Any]) -> None:
                if self._building.get(key, (None, None))[1] is task:
                    del self._building[key]
                if not task.cancelled():
                    task.exception()  # seen: every waiter got it, or none is left to care

            task.add_done_callback(done)
        return cast(T, await asyncio.shield(running[1]))


KEEPALIVE = b": keep-alive\r\n\r\n"


def sse_frame(event: str, data: bytes) -> bytes:
    """One server-sent event. `data` is one line (compact JSON), so it needs no splitting."""
    return b"event: " + event.encode() + b"\r\ndata: " + data + b"\r\n\r\n"


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
