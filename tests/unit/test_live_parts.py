"""The pieces of the live boards, one job each: single flight, change versions and listeners, kept
board data, page and row caches, cache keys, and the Redis relay (against a real Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from core.models import Challenge
from core.queue import board_channel, board_message
from scoring.ranking import Board
from server.live import keys
from server.live.caches import PageCache, RecentCache
from server.live.changes import BoardChanges
from server.live.flight import SingleFlight
from server.live.kept import KeptBoards
from server.live.relay import RedisRelay


async def test_single_flight_shares_one_build_per_key_and_version_and_keeps_nothing_after() -> None:
    flight, builds = SingleFlight(), 0
    gate = asyncio.Event()

    async def build() -> int:
        nonlocal builds
        builds += 1
        await gate.wait()
        return builds

    waiting = [asyncio.create_task(flight.run(("k",), 1, build)) for _ in range(10)]
    newer = asyncio.create_task(flight.run(("k",), 2, build))
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [1] * 10
    assert await newer == 2 and builds == 2
    assert flight.running == {}


async def test_changes_count_versions_and_wake_only_that_challenges_streams() -> None:
    changes = BoardChanges()
    with changes.listen("a") as heard_a, changes.listen("b") as heard_b:
        assert changes.open_streams == 2
        changes.changed("a")
        assert heard_a.is_set() and not heard_b.is_set()
        assert (changes.version("a"), changes.version("b")) == (1, 0)
    assert changes.open_streams == 0 and changes.slugs() == {"a", "b"}


async def test_kept_boards_refresh_marked_teams_and_reload_after_an_unnamed_change() -> None:
    kept, loads, refreshed = KeptBoards(), [], []

    async def load() -> str:
        loads.append(1)
        return "all"

    async def refresh(value: str, teams: set[int]) -> str:
        refreshed.append(teams)
        return value

    kept.mark("c", 1)  # nothing loaded yet: nothing to mark
    await kept.get("c", load, refresh)
    kept.mark("c", 4)
    await kept.get("c", load, refresh)
    kept.mark("c", None)
    await kept.get("c", load, refresh)
    assert (len(loads), refreshed, kept.slugs()) == (2, [{4}], {"c"})


async def test_pages_are_built_once_per_version_and_rows_once_per_ttl() -> None:
    changes, flight = BoardChanges(), SingleFlight()
    pages, rows, calls = PageCache(changes, flight), RecentCache(flight), []

    async def build() -> int:
        calls.append(1)
        return len(calls)

    assert [await pages.get("c", "public", build) for _ in range(3)] == [1, 1, 1]
    changes.changed("c")
    assert await pages.get("c", "public", build) == 2
    assert await rows.get("row", 60, build) == 3
    assert await rows.get("row", 60, build) == 3
    assert await rows.get("row", 0, build) == 4


def test_cache_keys_tell_audiences_pages_and_challenge_versions_apart() -> None:
    when = datetime(2026, 11, 25, tzinfo=UTC)
    challenge = Challenge(id=1, slug="c", title="t", spec={}, updated_at=when)
    later = Challenge(id=1, slug="c", title="t", spec={}, updated_at=when.replace(hour=1))
    page = keys.board_page(challenge, Board.PUBLIC, reviewer=False, offset=0, limit=10, phase="main")
    others = {
        keys.board_page(challenge, Board.PUBLIC, reviewer=True, offset=0, limit=10, phase="main"),
        keys.board_page(challenge, Board.PRIVATE, reviewer=False, offset=0, limit=10, phase="main"),
        keys.board_page(challenge, Board.PUBLIC, reviewer=False, offset=10, limit=10, phase="main"),
        keys.board_page(challenge, Board.PUBLIC, reviewer=False, offset=0, limit=None, phase="main"),
        keys.board_page(later, Board.PUBLIC, reviewer=False, offset=0, limit=10, phase="main"),
        keys.board_page(challenge, Board.PUBLIC, reviewer=False, offset=0, limit=10, phase="final"),
    }
    assert page not in others and len(others) == 6
    charts = {
        keys.chart(challenge, "en", "main"),
        keys.chart(challenge, "fr", "main"),
        keys.chart(later, "fr", "main"),
        keys.chart(challenge, "fr", "final"),
    }
    assert len(charts) == 4


@pytest.mark.integration
async def test_the_relay_passes_each_message_and_says_when_it_subscribed(clean_redis: str) -> None:
    heard: list[tuple[str, int | None]] = []
    subscribed: list[bool] = []
    relay = RedisRelay(
        clean_redis, lambda slug, team: heard.append((slug, team)), lambda: subscribed.append(True)
    )
    await relay.start()
    client = aioredis.Redis.from_url(clean_redis)
    try:
        await asyncio.wait_for(relay.subscribed.wait(), 5)
        await client.publish(board_channel("tumour"), board_message("tumour", 7))
        await client.publish(board_channel("digits"), board_message("digits"))
        for _ in range(100):
            if len(heard) == 2:
                break
            await asyncio.sleep(0.02)
        assert heard == [("tumour", 7), ("digits", None)] and subscribed == [True]
    finally:
        await client.aclose()
        await relay.stop()
