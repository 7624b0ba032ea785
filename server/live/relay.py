"""One Redis subscription per API process to every challenge's "board changed" channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.queue import board_channel, board_team

log = logging.getLogger(__name__)

PATTERN = board_channel("*")


class RedisRelay:
    """Calls `on_change(slug, team)` for every message; `on_subscribed()` each time it (re)subscribes,
    since what was published while it was away went unheard. Reconnects with a back-off."""

    def __init__(
        self,
        redis_url: str,
        on_change: Callable[[str, int | None], None],
        on_subscribed: Callable[[], None],
    ) -> None:
        self.redis_url = redis_url
        self.on_change = on_change
        self.on_subscribed = on_subscribed
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="board-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _relay(self) -> None:
        delay = 0.5
        while True:
            client = aioredis.from_url(self.redis_url)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(PATTERN)
                self.on_subscribed()
                self.subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        slug = message["channel"].decode().rpartition(":")[2]
                        self.on_change(slug, board_team(message["data"]))
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("board relay lost Redis (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                    await client.aclose()
