"""BoardHub's caches: board data refreshed one team at a time, and one build per change however many ask."""

from __future__ import annotations

import asyncio

import pytest

from server.live import BoardHub


def listening_hub() -> BoardHub:
    hub = BoardHub("redis://unused")
    hub.subscribed.set()  # as if the relay were subscribed; these tests call changed() themselves
    return hub


class Source:
    """Board data as a dict team -> score; records what was read."""

    def __init__(self) -> None:
        self.scores = {1: 0.5, 2: 0.6, 3: 0.7}
        self.loads = 0
        self.refreshed: list[set[int]] = []

    async def load(self) -> dict[int, float]:
        self.loads += 1
        return dict(self.scores)

    async def refresh(self, data: dict[int, float], teams: set[int]) -> dict[int, float]:
        self.refreshed.append(set(teams))
        data.update({team: self.scores[team] for team in teams})
        return data


async def test_board_data_is_read_once_then_refreshed_only_for_the_teams_that_changed() -> None:
    hub, source = listening_hub(), Source()
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.5, 2: 0.6, 3: 0.7}
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.5, 2: 0.6, 3: 0.7}
    source.scores.update({1: 0.9, 3: 0.1})
    hub.changed("c", 1)
    hub.changed("c", 3)
    hub.changed("other", 2)  # another challenge's change is not ours
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.9, 2: 0.6, 3: 0.1}
    assert (source.loads, source.refreshed) == (1, [{1, 3}])


async def test_a_change_without_a_team_reads_everything_again() -> None:
    hub, source = listening_hub(), Source()
    await hub.kept("c", source.load, source.refresh)
    source.scores[2] = 0.0
    hub.changed("c")
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.5, 2: 0.0, 3: 0.7}
    assert (source.loads, source.refreshed) == (2, [])


async def test_a_change_heard_during_a_refresh_is_applied_by_the_next_one() -> None:
    hub, source = listening_hub(), Source()
    await hub.kept("c", source.load, source.refresh)
    hub.changed("c", 1)

    async def slow_refresh(data: dict[int, float], teams: set[int]) -> dict[int, float]:
        hub.changed("c", 2)  # scored while this refresh is reading
        source.scores[2] = 0.99
        return await source.refresh(data, teams)

    await hub.kept("c", source.load, slow_refresh)
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.5, 2: 0.99, 3: 0.7}
    assert source.refreshed == [{1}, {2}]


async def test_a_failed_refresh_reads_everything_next_time() -> None:
    hub, source = listening_hub(), Source()
    await hub.kept("c", source.load, source.refresh)
    hub.changed("c", 1)

    async def failing(data: dict[int, float], teams: set[int]) -> dict[int, float]:
        data[1] = -1.0  # half applied, then the database went away
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        await hub.kept("c", source.load, failing)
    assert await hub.kept("c", source.load, source.refresh) == {1: 0.5, 2: 0.6, 3: 0.7}
    assert source.loads == 2


async def test_missed_messages_after_a_reconnect_mean_everything_is_read_again() -> None:
    hub, source = listening_hub(), Source()
    await hub.kept("c", source.load, source.refresh)
    built = await hub.render("c", "public", source.load)
    source.scores[3] = 0.0  # changed while the relay was reconnecting: no message for it
    hub._missed_everything()
    assert (await hub.kept("c", source.load, source.refresh))[3] == 0.0
    assert await hub.render("c", "public", source.load) != built


async def test_many_readers_after_a_change_share_one_build() -> None:
    hub = listening_hub()
    builds = 0
    release = asyncio.Event()

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        await release.wait()
        return b"board %d" % builds

    readers = [asyncio.create_task(hub.render("c", "public", build)) for _ in range(100)]
    await asyncio.sleep(0)
    readers[0].cancel()  # a stream that goes away does not cancel the build the others wait for
    release.set()
    results = await asyncio.gather(*readers[1:])
    assert set(results) == {b"board 1"} and builds == 1
    assert await hub.render("c", "public", build) == b"board 1"  # cached until the next change
    hub.changed("c", 7)
    assert await hub.render("c", "public", build) == b"board 2"


async def test_an_older_build_finishing_late_does_not_replace_a_newer_board() -> None:
    hub = listening_hub()
    slow_may_finish = asyncio.Event()

    async def slow() -> str:
        await slow_may_finish.wait()
        return "old"

    async def fast() -> str:
        return "new"

    old = asyncio.create_task(hub.render("c", "public", slow))
    await asyncio.sleep(0)
    hub.changed("c", 1)
    assert await hub.render("c", "public", fast) == "new"
    slow_may_finish.set()
    assert await old == "old"  # its own reader gets what it asked for
    assert await hub.render("c", "public", slow) == "new"


async def test_lookups_that_fail_leave_nothing_behind() -> None:
    """Anyone can ask for a board of a challenge that does not exist: that must not grow the hub."""
    hub = listening_hub()

    async def missing() -> str:
        raise LookupError("no such challenge")

    for i in range(100):
        with pytest.raises(LookupError):
            await hub.recent(f"challenge:nope-{i}", 2.0, missing)
    assert (hub._building, hub._recent, dict(hub._locks)) == ({}, {}, {})


async def test_concurrent_lookups_share_one_read_kept_for_its_time() -> None:
    hub, reads = listening_hub(), 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return reads

    assert await asyncio.gather(*(hub.recent("challenge:c", 60, read) for _ in range(50))) == [1] * 50
    assert await hub.recent("challenge:c", 60, read) == 1
    assert await hub.recent("challenge:c", 0, read) == 2  # expired


async def test_a_burst_of_changes_reaches_a_stream_as_one_board() -> None:
    from server.live import board_events

    hub = listening_hub()
    board = {"version": 0}

    async def build() -> bytes:
        return str(board["version"]).encode()

    frames = board_events(hub, "gaze-lab", "public", build, min_interval_s=0.3)
    assert await anext(frames) == ("snapshot", b"0")
    for version in range(1, 21):  # twenty scores within a few milliseconds
        board["version"] = version
        hub.changed("gaze-lab")
        await asyncio.sleep(0.001)
    started = asyncio.get_running_loop().time()
    assert await anext(frames) == ("board", b"20")  # one board, the newest
    board["version"] = 21
    hub.changed("gaze-lab")
    assert await anext(frames) == ("board", b"21")
    assert asyncio.get_running_loop().time() - started >= 0.25  # not before the interval
    await frames.aclose()
