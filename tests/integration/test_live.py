"""The live board stream (server-sent events) against a real API process, Redis and the worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from functools import partial

import httpx
import pytest

from core.models import StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, eventually, load_challenge, login, make_staff
from tests.integration.test_submissions import tumour_predictions

SLUG = "tumour-detection"
STREAM = f"/api/challenges/{SLUG}/leaderboard/stream"


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict]]:
    """Parse a server-sent event stream into (event, data) pairs; comments (keep-alives) are skipped."""
    kind, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            kind = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data.append(line.partition(":")[2].strip())
        elif line == "" and data:
            yield kind, json.loads("\n".join(data))
            kind, data = "message", []


async def until(
    stream: AsyncIterator[tuple[str, dict]], wanted: Callable[[dict], bool], wait_s: float = 10
) -> dict:
    """The first board event that shows what is wanted; fails after `wait_s`."""

    async def first() -> dict:
        async for kind, board in stream:
            if kind == "board" and wanted(board):
                return board
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(first(), timeout=wait_s)


async def test_snapshot_first_then_an_event_after_a_score(settings: Settings, api: str) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        headers = await login(http, "ada")
        async with http.stream("GET", STREAM) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response)
            kind, board = await anext(stream)
            assert (kind, board["entries"]) == ("snapshot", [])
            sent = await http.post(
                f"/api/challenges/{SLUG}/submissions",
                files={"file": ("p.csv", csv_bytes(tumour_predictions()[0]))},
                headers=headers,
            )
            assert sent.status_code == 202
            await drain_queue(settings)  # the worker scores it and publishes on Redis
            kind, board = await asyncio.wait_for(anext(stream), timeout=10)
            assert kind == "board"
            assert [(e["rank"], e["team"]) for e in board["entries"]] == [(1, "ada")]
            assert board["entries"][0]["score"] == pytest.approx(tumour_predictions()[1], abs=1e-12)
        # A reconnecting client starts again from a fresh snapshot.
        async with http.stream("GET", STREAM) as response:
            kind, board = await anext(events(response))
            assert kind == "snapshot" and len(board["entries"]) == 1


async def test_private_stream_is_for_judges_before_the_reveal(settings: Settings, api: str) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        participant = await login(http, "ada")
        refused = await http.get(f"{STREAM}?board=private", headers=participant)
        assert refused.status_code == 404 and "until it is revealed" in refused.json()["detail"]
        assert (await http.get(f"{STREAM}?board=private")).status_code == 404
        judge = await login(http, "judy", register=False)
        async with http.stream("GET", f"{STREAM}?board=private", headers=judge) as response:
            kind, board = await anext(events(response))
            assert (response.status_code, kind, board["board"]) == (200, "snapshot", "private")


async def test_a_closed_stream_leaves_no_subscription(settings: Settings, api: str) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        for _ in range(3):
            async with http.stream("GET", STREAM) as response:
                stream = events(response)  # keep a reference: a collected generator closes the stream
                await anext(stream)
                health = (await http.get("/api/health")).json()
                assert health["live_streams"] >= 1, health
        for _ in range(100):
            if (await http.get("/api/health")).json()["live_streams"] == 0:
                break
            await asyncio.sleep(0.05)
        assert (await http.get("/api/health")).json()["live_streams"] == 0


async def test_every_api_process_follows_the_board_one_team_at_a_time(
    settings: Settings, api: str, second_api: str
) -> None:
    """Two API processes behind one proxy: each keeps its own board and refreshes only the team that
    changed, yet both serve the same board after scores and a final selection made through the other."""
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    board_url = f"/api/challenges/{SLUG}/leaderboard"
    predictions, radius_auc = tumour_predictions()
    labels = (EXAMPLES / SLUG / "hidden" / "labels.csv").read_bytes()  # a perfect submission
    worse = predictions.assign(diagnosis=1 - predictions["diagnosis"])
    async with (
        httpx.AsyncClient(base_url=api, timeout=30) as first,
        httpx.AsyncClient(base_url=second_api, timeout=30) as second,
    ):
        ada, bob = await login(first, "ada"), await login(second, "bob")
        judge = await login(second, "judy", register=False)

        async def upload(http: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> int:
            sent = await http.post(
                f"/api/challenges/{SLUG}/submissions", files={"file": ("p.csv", body)}, headers=headers
            )
            assert sent.status_code == 202, sent.text
            await drain_queue(settings)
            return sent.json()["id"]

        async def boards(query: str = "", headers: dict[str, str] | None = None) -> list[list[tuple]]:
            return [
                [
                    (e["rank"], e["team"], e["submissions"], e["submission_id"])
                    for e in (await http.get(f"{board_url}{query}", headers=headers)).json()["entries"]
                ]
                for http in (first, second)
            ]

        ada_first = await upload(first, ada, csv_bytes(predictions))
        assert await boards() == [[(1, "ada", 1, None)]] * 2  # both processes now hold the board

        async with second.stream("GET", STREAM) as response:
            stream = events(response)
            kind, snapshot = await anext(stream)
            assert kind == "snapshot" and [e["team"] for e in snapshot["entries"]] == ["ada"]
            bob_best = await upload(second, bob, labels)
            kind, board = await asyncio.wait_for(anext(stream), timeout=10)
            assert kind == "board"
            assert [(e["rank"], e["team"], e["score"]) for e in board["entries"]] == [
                (1, "bob", 1.0),
                (2, "ada", pytest.approx(radius_auc, abs=1e-12)),
            ]
        ada_worse = await upload(first, ada, csv_bytes(worse))
        # ada's worse score keeps her first submission on the board, with her new count.
        await eventually(boards, [[(1, "bob", 1, None), (2, "ada", 2, None)]] * 2)
        private = partial(boards, "?board=private", judge)
        await eventually(private, [[(1, "bob", 1, bob_best), (2, "ada", 2, ada_first)]] * 2)

        chosen = await first.put(f"/api/submissions/{ada_worse}/final", json={"final": True}, headers=ada)
        assert chosen.status_code == 200, chosen.text
        await eventually(private, [[(1, "bob", 1, bob_best), (2, "ada", 2, ada_worse)]] * 2)
        assert await boards() == [[(1, "bob", 1, None), (2, "ada", 2, None)]] * 2  # the public board stays


async def test_disqualified_and_memberless_teams_leave_the_stream_at_once(
    settings: Settings, api: str
) -> None:
    await load_challenge(settings, EXAMPLES / SLUG)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        olga = await login(http, "olga", register=False)
        people = {name: await login(http, name) for name in ("ada", "bob")}
        for headers in people.values():
            sent = await http.post(
                f"/api/challenges/{SLUG}/submissions",
                files={"file": ("p.csv", csv_bytes(tumour_predictions()[0]))},
                headers=headers,
            )
            assert sent.status_code == 202
        await drain_queue(settings)
        ada_team = (await http.get(f"/api/challenges/{SLUG}/team", headers=people["ada"])).json()["id"]
        async with http.stream("GET", STREAM) as response:
            stream = events(response)
            kind, board = await anext(stream)
            assert kind == "snapshot" and [e["team"] for e in board["entries"]] == ["ada", "bob"]
            made = await http.post(
                f"/api/challenges/{SLUG}/disqualifications",
                json={"team_id": ada_team, "reason": "shared an account"},
                headers=olga,
            )
            assert made.status_code == 201
            # The API process tells its own streams at once, then hears its own message back through
            # Redis: a change may come twice, so wait for the board that shows it.
            board = await until(stream, lambda b: [e["team"] for e in b["entries"]] == ["bob"])
            left = await http.delete(f"/api/challenges/{SLUG}/team/members/me", headers=people["bob"])
            assert left.status_code == 204
            board = await until(stream, lambda b: b["entries"] == [])
            assert board["teams"] == 0


async def test_open_streams_hold_no_database_connection(settings: Settings, api: str) -> None:
    """More streams than the connection pool holds (30 on PostgreSQL, 15 on SQLite): other requests
    still answer at once, since a stream hands its request's connection back before streaming."""
    await load_challenge(settings, EXAMPLES / SLUG)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(40):
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=api, timeout=30))
            stream = await stack.enter_async_context(
                http.stream("GET", f"/api/challenges/{SLUG}/leaderboard/stream")
            )
            lines = stream.aiter_lines()
            stack.push_async_callback(lines.aclose)
            assert await anext(lines) == "event: snapshot"
        async with httpx.AsyncClient(base_url=api, timeout=5) as http:
            headers = await login(http, "ada")  # reads and writes the database
            answer = await http.get(f"/api/challenges/{SLUG}", headers=headers)
    assert answer.status_code == 200
