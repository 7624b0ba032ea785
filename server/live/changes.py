"""Which boards changed: a version per challenge, and the open streams waiting to hear of it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class BoardChanges:
    def __init__(self) -> None:
        self._versions: dict[str, int] = defaultdict(int)
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)

    def version(self, slug: str) -> int:
        return self._versions[slug]

    def changed(self, slug: str) -> None:
        self._versions[slug] += 1
        for event in self._listeners.get(slug, ()):
            event.set()

    def slugs(self) -> set[str]:
        """Every challenge something here knows of."""
        return {*self._versions, *self._listeners}

    @property
    def open_streams(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

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
