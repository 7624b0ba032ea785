"""The launcher's supervision step: dead children restart with back-off, stable ones at once."""

from __future__ import annotations

import subprocess

from server.supervisor import MAX_BACKOFF_S, STABLE_AFTER_S, Child, backoff, tend


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


def make_child() -> tuple[Child, list[FakeProcess]]:
    started: list[FakeProcess] = []

    def start() -> subprocess.Popen[bytes]:
        started.append(FakeProcess(100 + len(started)))
        return started[-1]  # type: ignore[return-value]

    child = Child("worker", start)
    child.launch(0.0)
    return child, started


def test_backoff_doubles_up_to_the_ceiling() -> None:
    assert [backoff(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_a_child_dying_soon_after_start_is_restarted_later_each_time() -> None:
    child, started = make_child()
    said: list[str] = []
    now = 0.0
    for expected_delay in (1, 2, 4):
        started[-1].returncode = -9
        now += 5
        tend([child], now, said.append)
        assert child.restart_at == now + expected_delay
        tend([child], now + expected_delay - 0.1, said.append)
        assert len(started) == child.restarts + 1  # not yet
        now += expected_delay
        tend([child], now, said.append)
    assert len(started) == 4 and child.restarts == 3
    assert "riality: worker exited with code -9 after 5 s; restarting it in 4 s" in said
    assert said[-1] == "riality: worker restarted (pid 103)"


def test_a_child_that_ran_a_while_is_restarted_at_once() -> None:
    child, started = make_child()
    started[-1].returncode = 1
    tend([child], STABLE_AFTER_S + 1, lambda _: None)
    assert child.restart_at == STABLE_AFTER_S + 1
    tend([child], STABLE_AFTER_S + 1, lambda _: None)
    assert len(started) == 2


def test_live_children_are_left_alone() -> None:
    child, started = make_child()
    tend([child], 1000.0, lambda _: None)
    assert len(started) == 1 and child.restart_at is None
