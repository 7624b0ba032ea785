"""Keeping the launcher's children alive: a child that dies is restarted with back-off, and said so.

`riality up` runs Redis, the API and a worker as child processes. One of them dying (killed, out
of memory) must not take the others down: it is started again after 1, 2, 4 … 30 s while it
keeps dying soon after each start, and at once again once it has run for a while.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long before dying is restarted at once


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_deaths: int = 0  # consecutive exits soon after a start
    restart_at: float | None = None
    restarts: int = field(default=0)

    def launch(self, now: float) -> None:
        self.process = self.start()
        self.started_at = now
        self.restart_at = None


def backoff(quick_deaths: int) -> float:
    return 0.0 if quick_deaths == 0 else min(MAX_BACKOFF_S, 2.0 ** (quick_deaths - 1))


def tend(children: list[Child], now: float, say: Callable[[str], None]) -> None:
    """One supervision step: notice dead children, and restart those whose back-off has passed."""
    for child in children:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.launch(now)
                child.restarts += 1
                say(f"riality: {child.name} restarted (pid {child.process.pid if child.process else '?'})")
            continue
        if child.process is None or child.process.poll() is None:
            continue
        ran_s = now - child.started_at
        child.quick_deaths = 0 if ran_s >= STABLE_AFTER_S else child.quick_deaths + 1
        delay = backoff(child.quick_deaths)
        child.restart_at = now + delay
        say(
            f"riality: {child.name} exited with code {child.process.returncode} after {ran_s:.0f} s; "
            f"restarting it in {delay:.0f} s"
        )


def supervise(children: list[Child], stopping: Callable[[], bool], *, poll_s: float = 0.2) -> None:
    """Run until `stopping()` says so (Ctrl-C or SIGTERM): only a signal stops the launcher."""

    def say(message: str) -> None:
        log.warning("%s", message)
        print(message, flush=True)

    while not stopping():
        tend(children, time.monotonic(), say)
        time.sleep(poll_s)


def processes(children: list[Child]) -> list[subprocess.Popen[bytes]]:
    return [c.process for c in children if c.process is not None]
