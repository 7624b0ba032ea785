"""Each challenge's board data (per phase), read once and then refreshed only for the teams that changed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

T = TypeVar("T")


@dataclass(slots=True)
class _Kept:
    stale: set[int] | None  # teams changed since `value` was read; None: read it all again
    value: Any = None


class KeptBoards:
    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], _Kept] = {}  # by challenge and phase
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one per challenge

    def slugs(self) -> set[str]:
        return {slug for slug, _ in self._kept}

    def mark(self, slug: str, team_id: int | None) -> None:
        """One team's entry changed (None: any of them), in whichever phase."""
        for (kept_slug, _), kept in self._kept.items():
            if kept_slug != slug:
                continue
            if team_id is None:
                kept.stale = None
            elif kept.stale is not None:
                kept.stale.add(team_id)

    async def get(
        self,
        slug: str,
        load: Callable[[], Awaitable[T]],
        refresh: Callable[[T, set[int]], Awaitable[T]],
        phase: str = "",
    ) -> T:
        """Loaded once, then refreshed only for the teams marked since.

        A change heard while loading or refreshing marks its team again, so the next call catches it
        (the worker commits before it publishes, so a team marked before a read is seen by that read).
        """
        key = (slug, phase)
        async with self.locks[slug]:
            kept = self._kept.get(key)
            if kept is None or kept.stale is None:
                kept = self._kept[key] = _Kept(stale=set())
                try:
                    kept.value = await load()
                except BaseException:
                    if self._kept.get(key) is kept:
                        del self._kept[key]
                    raise
            elif kept.stale:
                teams, kept.stale = kept.stale, set()
                try:
                    kept.value = await refresh(kept.value, teams)
                except BaseException:
                    kept.stale = None  # the refresh may have been half applied: reload it all next time
                    raise
            return cast(T, kept.value)
