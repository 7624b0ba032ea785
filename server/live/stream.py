"""A board as server-sent events: a snapshot first, then the board again after each change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from server.live.hub import BoardHub

KEEPALIVE = b": keep-alive\r\n\r\n"
MIN_INTERVAL_S = 0.5  # between two boards on one stream


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
    min_interval_s: float = MIN_INTERVAL_S,
) -> AsyncIterator[tuple[str, bytes | None]]:
    """('snapshot', board) first, then ('board', board) after changes, and ('ping', None) when idle.

    At most one board every `min_interval_s`: the changes of a busy minute (a deadline rush: dozens
    a second) reach each stream together, in its next board, instead of one frame each.
    """
    with hub.listen(slug) as changed:
        yield "snapshot", await hub.render(slug, audience, build)
        sent = asyncio.get_running_loop().time()
        while True:
            try:
                await asyncio.wait_for(changed.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield "ping", None
                continue
            await asyncio.sleep(max(0.0, sent + min_interval_s - asyncio.get_running_loop().time()))
            changed.clear()
            yield "board", await hub.render(slug, audience, build)
            sent = asyncio.get_running_loop().time()
