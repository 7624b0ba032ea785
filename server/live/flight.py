"""Single flight: one build for everyone who asks for the same key and version while it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class SingleFlight:
    def __init__(self) -> None:
        # Only running builds are held, so any number of keys can be asked for without growing it.
        self.running: dict[tuple[str, ...], tuple[int, asyncio.Future[Any]]] = {}

    async def run(self, key: tuple[str, ...], version: int, build: Callable[[], Awaitable[T]]) -> T:
        """`build()` run once for everyone asking for `key` at `version` while it runs.

        Shielded: a caller that goes away (a closed stream) does not cancel it for the others.
        """
        running = self.running.get(key)
        if running is None or running[0] != version:
            task = asyncio.ensure_future(build())
            running = self.running[key] = (version, task)

            def done(task: asyncio.Future[Any]) -> None:
                if self.running.get(key, (None, None))[1] is task:
                    del self.running[key]
                if not task.cancelled():
                    task.exception()  # seen: every waiter got it, or none is left to care

            task.add_done_callback(done)
        return cast(T, await asyncio.shield(running[1]))
