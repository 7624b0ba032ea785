"""The sandbox against hostile code, in real containers of the runtime image.

Each case must end with the right outcome, and an ordinary run afterwards must still succeed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.errors import NotFound
from docker.models.containers import ContainerCollection
from litestar.testing import AsyncTestClient

from core.settings import Settings
from runner.images import RUNTIME_IMAGE, build_runtime_image
from runner.sandbox import (
    LABEL,
    OWNER_LABEL,
    Limits,
    Mount,
    Outcome,
    RunResult,
    Sandbox,
    SandboxError,
    run_folder,
)
from tests.helpers import announce_sandbox_worker, drain_queue, load_challenge, login, upload

LIMITS = Limits(time_s=10, memory_mb=256, cpus=1, pids=64, output_mb=8)


@pytest.fixture(scope="module", params=["", "runsc"], ids=["runc", "runsc"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Every case under Docker's default runtime and under gVisor (scripts/test.sh registers runsc)."""
    box = Sandbox(runtime=request.param)
    build_runtime_image(box.client, offline=True)  # scripts/test.sh built it; this only checks it is current
    return box


@pytest.fixture
def output(tmp_path: Path) -> Iterator[Path]:
    yield run_folder(tmp_path / "output", writable=True)


def run(
    sandbox: Sandbox,
    code: str,
    *,
    limits: Limits = LIMITS,
    output: Path | None = None,
    mounts: tuple[Mount, ...] = (),
) -> RunResult:
    extra = (Mount(output, "/output", writable=True),) if output else ()
    return sandbox.run(
        RUNTIME_IMAGE, ["python3", "-c", code], limits=limits, mounts=(*mounts, *extra), output=output
    )


def assert_ordinary_run_works(sandbox: Sandbox) -> None:
    """The next run is unharmed. Its own limits are generous: under gVisor (ptrace) importing
    scikit-learn and pandas takes ~4 s of a loaded machine; this checks the sandbox, not its speed."""
    result = run(sandbox, "import sklearn, pandas; print('fine')", limits=Limits(time_s=60, memory_mb=1024))
    assert (result.outcome, result.logs.strip()) == (Outcome.OK, "fine"), result


def test_ordinary_run_reports_usage(sandbox: Sandbox) -> None:
    result = run(sandbox, "import pandas; x = bytearray(50 * 2**20); print(len(x))")
    assert result.outcome is Outcome.OK and result.exit_code == 0
    assert result.usage.wall_s > 0
    assert result.usage.peak_memory_mb is not None and result.usage.peak_memory_mb >= 50
    assert result.usage.cpu_s is not None and result.usage.cpu_s > 0


def test_memory_bomb_is_out_of_memory(sandbox: Sandbox) -> None:
    result = run(sandbox, "x = bytearray(600 * 2**20)")
    assert result.outcome is Outcome.OUT_OF_MEMORY and result.exit_code == 137
    assert_ordinary_run_works(sandbox)


def test_infinite_loop_is_killed_at_the_deadline(sandbox: Sandbox) -> None:
    result = run(sandbox, "while True: pass", limits=Limits(time_s=2, memory_mb=256))
    assert result.outcome is Outcome.TIMEOUT
    assert 2 <= result.usage.wall_s < 6
    assert_ordinary_run_works(sandbox)


def test_fork_bomb_hits_the_pids_limit(sandbox: Sandbox) -> None:
    code = "import os\nwhile True:\n    os.fork()"
    result = run(sandbox, code, limits=Limits(time_s=10, memory_mb=256, pids=64))
    assert result.outcome in (Outcome.CRASHED, Outcome.TIMEOUT)
    # gVisor ends the whole sandbox at the limit (exit 2, nothing printed); runc lets fork() fail.
    contained = sandbox.runtime == "runsc" and result.outcome is Outcome.CRASHED
    assert contained or "Resource temporarily unavailable" in result.logs or result.outcome is Outcome.TIMEOUT
    assert_ordinary_run_works(sandbox)


@pytest.mark.parametrize(
    "address", [("1.1.1.1", 80), ("127.0.0.1", 6379), ("10.0.0.1", 80)], ids=["public", "loopback", "private"]
)
def test_network_egress_fails(sandbox: Sandbox, address: tuple[str, int]) -> None:
    code = f"import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect({address!r})\nprint('CONNECTED')"
    result = run(sandbox, code)
    assert result.outcome is Outcome.CRASHED and "CONNECTED" not in result.logs
    refusals = ("Network is unreachable", "Connection refused", "No route to host")  # the last: gVisor's
    assert any(refusal in result.logs for refusal in refusals)


def test_container_sees_only_a_loopback_interface(sandbox: Sandbox) -> None:
    result = run(sandbox, "import socket; print(sorted(n for _, n in socket.if_nameindex()))")
    assert result.logs.strip() == "['lo']"


@pytest.mark.parametrize("path", ["/etc/evil", "/usr/lib/evil", "/opt/riality/harness.py", "/home/evil"])
def test_writing_outside_output_is_refused(sandbox: Sandbox, output: Path, path: str) -> None:
    result = run(sandbox, f"open({path!r}, 'w').write('x')", output=output)
    assert result.outcome is Outcome.CRASHED
    assert "Read-only file system" in result.logs or "Permission denied" in result.logs
    assert list(output.iterdir()) == []


def test_runs_as_an_unprivileged_user_without_capabilities(sandbox: Sandbox) -> None:
    code = "import os; print(os.getuid(), os.getgid()); print(open('/proc/self/status').read())"
    result = run(sandbox, code)
    assert result.logs.splitlines()[0] == "65534 65534"
    cap_eff = next(line for line in result.logs.splitlines() if line.startswith("CapEff:"))
    assert cap_eff.split()[1] == "0000000000000000"
    if sandbox.runtime != "runsc":  # gVisor's /proc has no NoNewPrivs line (dockerd still sets the flag)
        assert "NoNewPrivs:\t1" in result.logs


def test_huge_stdout_is_capped(sandbox: Sandbox) -> None:
    code = "import sys\nchunk = 'a' * 2**20 + '\\n'\nfor _ in range(1024):\n    sys.stdout.write(chunk)"
    result = run(sandbox, code, limits=Limits(time_s=20, memory_mb=256, log_bytes=64 * 1024))
    assert len(result.logs) <= 64 * 1024
    assert_ordinary_run_works(sandbox)


def test_output_files_are_bounded(sandbox: Sandbox, output: Path) -> None:
    code = "f = open('/output/big', 'wb')\nwhile True:\n    f.write(b'a' * 2**20)"
    result = run(sandbox, code, output=output)
    assert result.outcome in (Outcome.CRASHED, Outcome.OUTPUT_TOO_LARGE)
    assert (output / "big").stat().st_size <= LIMITS.output_mb * 2**20


def test_many_output_files_are_stopped(sandbox: Sandbox, output: Path) -> None:
    code = (
        "import itertools\nfor i in itertools.count():\n    open(f'/output/f{i}', 'wb').write(b'a' * 2**20)"
    )
    result = run(sandbox, code, output=output, limits=Limits(time_s=30, memory_mb=256, output_mb=8))
    assert result.outcome is Outcome.OUTPUT_TOO_LARGE


def test_inputs_are_read_only(sandbox: Sandbox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "features.csv").write_text("id,x\n1,2\n")
    code = "print(open('/data/features.csv').read()); open('/data/features.csv', 'w')"
    result = run(sandbox, code, mounts=(Mount(data, "/data"),))
    assert "id,x" in result.logs
    assert "Read-only file system" in result.logs or "Permission denied" in result.logs  # the latter: gVisor
    assert (data / "features.csv").read_text() == "id,x\n1,2\n"


def test_a_folder_given_by_a_relative_path_is_mounted(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `riality up` keeps its data dir at ./.riality by default: its run folders are relative paths.
    monkeypatch.chdir(tmp_path)
    Path("data").mkdir()
    Path("data", "features.csv").write_text("id,x\n1,2\n")
    result = run(sandbox, "print(open('/data/features.csv').read())", mounts=(Mount(Path("data"), "/data"),))
    assert result.outcome is Outcome.OK and "id,x" in result.logs, result


def test_no_container_is_left_behind(sandbox: Sandbox) -> None:
    run(sandbox, "print(1)")
    run(sandbox, "while True: pass", limits=Limits(time_s=1, memory_mb=128))
    assert sandbox.client.containers.list(all=True, filters={"label": LABEL}) == []


def test_sweep_removes_leftovers_of_dead_workers_only(sandbox: Sandbox) -> None:
    dead = sandbox.client.containers.create(
        RUNTIME_IMAGE, ["true"], labels={LABEL: "1", OWNER_LABEL: "gone:1"}
    )
    live_owner = f"{socket.gethostname()}:{os.getppid()}"  # our parent process: alive
    live = sandbox.client.containers.create(
        RUNTIME_IMAGE, ["true"], labels={LABEL: "1", OWNER_LABEL: live_owner}
    )
    try:
        assert sandbox.sweep() == 1
        remaining = {c.id for c in sandbox.client.containers.list(all=True, filters={"label": LABEL})}
        assert live.id in remaining and dead.id not in remaining
    finally:
        live.remove(force=True)


def test_sweep_survives_a_container_removed_between_listing_and_inspection(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = sandbox.client.containers.create(
        RUNTIME_IMAGE, ["true"], labels={LABEL: "1", OWNER_LABEL: "gone:1"}
    )
    dead = sandbox.client.containers.create(
        RUNTIME_IMAGE, ["true"], labels={LABEL: "1", OWNER_LABEL: "gone:2"}
    )
    inspect = ContainerCollection.get

    def removed_meanwhile(self: ContainerCollection, container_id: str) -> object:
        if container_id == gone.id:  # another worker's sweep got there first
            gone.remove(force=True)
        return inspect(self, container_id)

    # the client makes a new collection at each access: patch the class
    monkeypatch.setattr(ContainerCollection, "get", removed_meanwhile)
    assert sandbox.sweep() == 1
    monkeypatch.undo()
    assert {c.id for c in sandbox.client.containers.list(all=True, filters={"label": LABEL})}.isdisjoint(
        {gone.id, dead.id}
    )


def test_cancel_kills_the_container_at_once(sandbox: Sandbox) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    result = sandbox.run(
        RUNTIME_IMAGE,
        ["python3", "-c", "while True: pass"],
        limits=Limits(time_s=60, memory_mb=128),
        cancel=cancel,
    )
    assert result.outcome is Outcome.CANCELLED
    assert time.monotonic() - started < 10
    assert sandbox.client.containers.list(all=True, filters={"label": LABEL}) == []


def test_building_a_current_image_is_a_no_op(sandbox: Sandbox) -> None:
    assert build_runtime_image(sandbox.client, offline=True).built is False


def test_a_container_ends_at_its_own_deadline_without_a_runner(sandbox: Sandbox) -> None:
    """A worker that dies mid-run leaves its container behind: the container must still end by itself."""
    limits = Limits(time_s=1, memory_mb=128, own_deadline_grace_s=1)
    container = sandbox.create(
        RUNTIME_IMAGE,
        ["python3", "-c", "import time; time.sleep(600)"],
        limits=limits,
        mounts=(),
        labels={LABEL: "1"},
    )
    try:
        container.start()
        started = time.monotonic()
        while time.monotonic() - started < 30:
            container.reload()
            if container.status == "exited":
                break
            time.sleep(0.2)
        assert container.status == "exited", "the container outlived its own deadline"
        assert limits.own_deadline_s - 0.5 <= time.monotonic() - started < limits.own_deadline_s + 10
        assert container.attrs["State"]["ExitCode"] == 137
    finally:
        with contextlib.suppress(NotFound):  # a worker starting meanwhile sweeps an ownerless container
            container.remove(force=True)


def test_a_runtime_dockerd_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(
        SandboxError, match=r"the sandbox runtime 'kata' is not registered with dockerd .*runsc"
    ):
        Sandbox(runtime="kata")


GVISOR_PREDICT = """
import numpy as np
print(open("/proc/version").read())  # gVisor's own kernel answers, not the host's
def predict(features):
    return np.full(len(features), 0.5)
"""


async def test_the_worker_setting_puts_submissions_under_gvisor(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    """RIALITY_SANDBOX_RUNTIME=runsc: the worker's containers run on gVisor's kernel, and still score."""
    from tests.integration.test_model_and_code import SLUG, bundle, results, zip_bytes

    await load_challenge(settings, bundle(tmp_path))
    headers = await login(client, "ada")
    await announce_sandbox_worker(settings)
    sent = await upload(client, headers, SLUG, zip_bytes({"predict.py": GVISOR_PREDICT}), filename="code.zip")
    assert sent.status_code == 202, sent.text
    await drain_queue(dataclasses.replace(settings, sandbox_runtime="runsc"))
    (run,) = await results(client, headers, [sent.json()["id"]])
    assert run["status"] == "scored", run
    host = os.uname().release  # what /proc/version names outside gVisor
    assert "Linux version" in run["logs"] and host not in run["logs"]
    assert run["cpu_s"] is not None and run["peak_memory_mb"] is not None


def test_a_run_that_needs_a_gpu_asks_docker_for_one() -> None:
    """No GPU here: Docker refusing the device request proves the request is made; a fake-GPU
    worker (tests, routing) runs it without devices and says so in the run's environment."""
    real = Sandbox()
    gpu = dataclasses.replace(LIMITS, gpus=1)
    with pytest.raises(SandboxError, match=r"could not (create|start)") as refused:
        real.run(RUNTIME_IMAGE, ["true"], limits=gpu)
    assert "gpu" in str(refused.value).lower()
    mine = f"{OWNER_LABEL}={socket.gethostname()}:{os.getpid()}"
    assert real.client.containers.list(all=True, filters={"label": mine}) == []  # none left behind
    fake = run(Sandbox(fake_gpus=True), "import os; print(os.environ['RIALITY_FAKE_GPUS'])", limits=gpu)
    assert (fake.outcome, fake.logs.strip()) == (Outcome.OK, "1")
