"""The test helper that makes a second "host" must survive a run that was killed before its cleanup."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.netns import HOST_SIDE, _ip, _names, namespace


def _holders_of_host_side() -> list[str]:
    shown = subprocess.run(["ip", "-br", "addr"], check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in shown.splitlines() if f"{HOST_SIDE}/" in line]


def test_a_namespace_left_by_a_killed_run_is_swept_before_a_new_one_takes_its_address() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI runs as root)")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs: the leftover's owner
    name, outside, inside = _names(str(gone.pid))
    _ip("netns", "add", name)
    _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
    _ip("link", "set", inside, "netns", name)
    _ip("addr", "add", f"{HOST_SIDE}/30", "dev", outside)
    try:
        with namespace() as fresh:
            assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert [holder.split("@")[0] for holder in _holders_of_host_side()] == [f"rt{os.getpid()}a"]
            assert fresh.name == f"riality-t{os.getpid()}"
    finally:
        subprocess.run(["ip", "link", "delete", outside], capture_output=True)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    assert _holders_of_host_side() == []
