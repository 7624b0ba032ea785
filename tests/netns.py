"""A second "host" on this machine for tests: a network namespace joined to ours by a veth pair, with
addresses from 198.18.0.0/15 (RFC 2544's range for testing: never routed, never private-range), and
TCP forwarders that expose chosen loopback services on our side of the pair, and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

HOST_SIDE = "198.18.213.1"
GUEST_SIDE = "198.18.213.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str

    def command(self, *argv: str) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


PREFIX = "riality-t"


def _names(tag: str) -> tuple[str, str, str]:
    """The namespace, and the outside and inside ends of its veth pair."""
    return f"{PREFIX}{tag}", f"rt{tag}a", f"rt{tag}b"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_leftovers() -> list[str]:
    """Delete the namespaces (and veth ends) of test runs that were killed before their cleanup: a
    leftover keeps HOST_SIDE on its link, and a new pair given the same address would not be routed."""
    listed = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True, timeout=30)
    swept = []
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        tag = name.removeprefix(PREFIX)
        if name == tag or not tag.isdigit() or _alive(int(tag)):
            continue
        _, outside, _ = _names(tag)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "delete", outside)
        _ip("netns", "delete", name)
        swept.append(name)
    return swept


@contextlib.contextmanager
def namespace() -> Iterator[Namespace]:
    """A fresh namespace whose only way out is the veth pair to HOST_SIDE (needs root)."""
    sweep_leftovers()
    name, outside, inside = _names(str(os.getpid()))
    _ip("netns", "add", name)
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{HOST_SIDE}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", name, "addr", "add", f"{GUEST_SIDE}/30", "dev", inside)
        _ip("-n", name, "link", "set", inside, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield Namespace(name)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "delete", outside)
        _ip("netns", "delete", name)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def forward(target_port: int, *, target_host: str = "127.0.0.1") -> AsyncIterator[int]:
    """Listen on HOST_SIDE (a port of its own) and pass each connection to target_host:target_port."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
        for task in (
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(serve, HOST_SIDE, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
