"""A board as server-sent events: a snapshot first, then the board again after each change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from server.live.hub import BoardHub

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
