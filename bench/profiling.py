"""Where a process's CPU goes during a benchmark, sampled from outside with py-spy (no change to
the process): the functions that hold the most samples, inclusive and on their own, in ms per unit."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second
OURS = ("core/", "server/", "runner/", "scoring/", "challenges/")
ENTRY = ("server/cli.py", "runner/worker.py:run_worker")  # in every sample: says nothing


def record(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds` into `output` (collapsed stacks); wait on the result."""
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(RATE),
         "--format", "raw", "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _name(frame: str) -> str:
    """'handle (litestar/routes/http.py:190)' → 'litestar/routes/http.py:handle'."""
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{function}" if path else function


def summarise(output: Path, units: int, *, top: int = 12) -> str:
    """The busiest functions, in ms of CPU per unit (e.g. per scored submission); idle excluded."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    if not output.exists():
        return f"  (no profile: {output.name} was not written)"
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        frames = [_name(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:  # py-spy leaves idle threads out unless asked (--idle)
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    per = 1000 / RATE / max(1, units)
    lines = [f"  busy samples: {total} = {total * per:.2f} ms per unit"]
    ours = Counter(
        {name: n for name, n in inclusive.items() if name.startswith(OURS) and not name.startswith(ENTRY)}
    )
    lines += ["  inclusive, riality's own functions:"]
    lines += [f"    {n * per:6.2f} ms  {name}" for name, n in ours.most_common(top)]
    broad = Counter(
        {name: n for name, n in inclusive.items() if n < 0.6 * total and not name.startswith(OURS)}
    )
    lines += ["  inclusive, libraries (frames in under 60 % of samples):"]
    lines += [f"    {n * per:6.2f} ms  {name}" for name, n in broad.most_common(top)]
    lines += ["  own time:"] + [f"    {n * per:6.2f} ms  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def stop(spy: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """End a recording early (py-spy writes what it sampled on SIGINT) and wait for the file."""
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout_s)
