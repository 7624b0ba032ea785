"""One locked-down, throw-away Docker container per run.

Rules: no network, read-only root, an unprivileged user, no capabilities,
no new privileges, a pids limit, memory limit = memory+swap limit, a CPU quota, a small /tmp,
read-only inputs and one writable output folder, a wall-clock deadline kept here (kill on
expiry) and a later one kept by the container itself (`timeout` as its first process, for when no
worker is left to kill it), logs capped by the log driver and again on reading, and the container
removed in `finally`. The Docker SDK blocks: call `run` from a thread.

Resource use is read from the container's cgroup while it runs, never from anything the
participant's own process could write.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, NotFound
from docker.types import DeviceRequest, LogConfig, Ulimit

log = logging.getLogger(__name__)

LABEL = "riality.sandbox"
OWNER_LABEL = "riality.owner"  # host:pid of the worker that started the container
NOBODY = 65534
UID = f"{NOBODY}:{NOBODY}"  # nobody: owns nothing on the host
POLL_S = 0.02


class SandboxError(Exception):
    """Our infrastructure failed (Docker unreachable, image missing): retry, never blame the participant."""


class Outcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"
    OUTPUT_TOO_LARGE = "output_too_large"
    CANCELLED = "cancelled"  # the runner stopped it (its job was cancelled)


@dataclass(frozen=True, slots=True)
class Limits:
    time_s: float
    memory_mb: int
    cpus: float = 1.0
    pids: int = 128
    tmp_mb: int = 64
    output_mb: int = 64
    gpus: int = 0
    log_bytes: int = 64 * 1024
    # The container's own deadline, after the runner's: it ends even if no worker is left to kill it.
    own_deadline_grace_s: float = 15.0

    @property
    def own_deadline_s(self) -> int:
        return math.ceil(self.time_s + self.own_deadline_grace_s)


@dataclass(frozen=True, slots=True)
class Mount:
    host: Path
    container: str
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    wall_s: float
    cpu_s: float | None = None  # sampled from the cgroup while running; None if it ended before a sample
    peak_memory_mb: float | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: Outcome
    exit_code: int | None
    usage: Usage
    logs: str = ""
    labels: dict[str, str] = field(default_factory=dict)


class _CgroupProbe:
    """Reads a running container's CPU time and peak memory (cgroup v1 or v2, cgroupfs or systemd)."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, container_id: str) -> None:
        v1 = [f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"]
        self.memory = [self.ROOT / "memory" / p / "memory.max_usage_in_bytes" for p in v1]
        self.cpu = [self.ROOT / "cpuacct" / p / "cpuacct.usage" for p in v1]
        self.memory += [self.ROOT / p / "memory.peak" for p in v1]
        self.cpu_v2 = [self.ROOT / p / "cpu.stat" for p in v1]
        self.cpu_s: float | None = None
        self.peak_mb: float | None = None

    @staticmethod
    def _read(paths: list[Path]) -> str | None:
        for path in paths:
            try:
                return path.read_text()
            except OSError:
                continue
        return None

    def sample(self) -> None:
        memory = self._read(self.memory)
        if memory is not None and memory.strip().isdigit():
            self.peak_mb = max(self.peak_mb or 0.0, int(memory) / 2**20)
        usage = self._read(self.cpu)
        if usage is not None and usage.strip().isdigit():
            self.cpu_s = int(usage) / 1e9
            return
        stat = self._read(self.cpu_v2)
        if stat:
            for line in stat.splitlines():
                if line.startswith("usage_usec "):
                    self.cpu_s = int(line.split()[1]) / 1e6


def _owner_alive(owner: str) -> bool:
    """Whether the process that started a container (label 'host:pid') still runs on this host."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_folder(path: Path, *, writable: bool = False) -> Path:
    """Create a folder to mount: readable by the sandbox's user, and writable by it only if asked."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    if writable:
        if os.geteuid() == 0:
            os.chown(path, NOBODY, NOBODY)
        else:  # an unprivileged runner can only open it up
            path.chmod(0o777)
    return path


def readable_tree(folder: Path) -> None:
    """Everything under `folder` readable (not writable) by the sandbox's user, whatever the umask."""
    for parent, _, files in os.walk(folder):
        os.chmod(parent, 0o755)
        for name in files:
            os.chmod(Path(parent) / name, 0o644)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue
    return total


class Sandbox:
    def __init__(
        self, client: docker.DockerClient | None = None, *, runtime: str = "", fake_gpus: bool = False
    ) -> None:
        """`runtime`: the OCI runtime every container runs under, as registered with dockerd (`runsc`
        for gVisor: a second wall around the participant's code); empty for dockerd's default.
        `fake_gpus`: runs that ask for GPUs get none (a test worker on a machine without any)."""
        try:
            self.client = client or docker.from_env(timeout=30)
            self.client.ping()
            registered = self.client.info().get("Runtimes", {}) if runtime else {}
        except DockerException as exc:
            raise SandboxError(f"no Docker daemon answers: {exc}") from exc
        if runtime and runtime not in registered:
            raise SandboxError(
                f"the sandbox runtime {runtime!r} is not registered with dockerd (it has: "
                f"{', '.join(sorted(registered))}); see scripts/docker.sh --gvisor"
            )
        self.runtime = runtime
        self.fake_gpus = fake_gpus

    def _device_requests(self, limits: Limits) -> list[DeviceRequest] | None:
        """Docker's request for the run's GPUs, which NVIDIA's container toolkit serves."""
        if not limits.gpus or self.fake_gpus:
            return None
        return [DeviceRequest(count=limits.gpus, capabilities=[["gpu"]])]

    def status(self) -> tuple[bool, str, tuple[str, ...]]:
        """Blocking: (the daemon answers, why not, the image tags present) for the worker's heartbeat."""
        try:
            self.client.ping()
            tags = tuple(sorted(tag for image in self.client.images.list() for tag in image.tags))
        except DockerException as exc:
            return False, str(exc).splitlines()[0][:200], ()
        return True, "", tags

    def sweep(self) -> int:
        """Remove containers left by workers that died mid-run; those of live workers on this host stay."""
        removed = 0
        # ignore_removed: a run that ends, or another worker's sweep, may remove a listed container
        # before it is inspected.
        for container in self.client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
            if _owner_alive(container.labels.get(OWNER_LABEL, "")):
                continue
            try:
                container.remove(force=True)
                removed += 1
            except NotFound:
                pass
        if removed:
            log.warning("removed %d leftover sandbox container(s)", removed)
        return removed

    def create(
        self,
        image: str,
        command: Sequence[str],
        *,
        limits: Limits,
        mounts: Sequence[Mount],
        labels: dict[str, str],
    ) -> Any:
        """A locked-down container, created but not started; whoever creates it removes it.

        The command runs under `timeout` as the container's first process, so the container ends
        by itself at `limits.own_deadline_s` even if the worker supervising it has died.
        """
        file_limit = limits.output_mb * 2**20
        environment = {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
        if limits.gpus and self.fake_gpus:
            environment["RIALITY_FAKE_GPUS"] = str(limits.gpus)  # what a test's code can check
        try:
            return self.client.containers.create(
                image,
                ["timeout", "-s", "KILL", str(limits.own_deadline_s), *command],
                network_mode="none",
                read_only=True,
                user=UID,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=limits.pids,
                mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m",
                nano_cpus=int(limits.cpus * 1e9),
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
                volumes={
                    # Docker binds absolute host paths only; a relative one (the default ./.riality data
                    # dir) would be taken for the name of a volume.
                    str(m.host.resolve()): {"bind": m.container, "mode": "rw" if m.writable else "ro"}
                    for m in mounts
                },
                # No single file past the output bound, and the log driver keeps only the newest bytes.
                ulimits=[Ulimit(name="fsize", soft=file_limit, hard=file_limit)],
                log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m", "max-file": "1"}),
                environment=environment,
                working_dir="/tmp",
                labels=labels,
                runtime=self.runtime or None,
                detach=True,
                device_requests=self._device_requests(limits),
            )
        except DockerException as exc:
            raise SandboxError(f"could not create a container from {image!r}: {exc}") from exc

    def run(
        self,
        image: str,
        command: Sequence[str],
        *,
        limits: Limits,
        mounts: Sequence[Mount] = (),
        output: Path | None = None,
        labels: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run `command` in a fresh container under `limits`; the container is always removed.

        Setting `cancel` (the job was cancelled) kills the container at the next poll.
        """
        labels = {LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}", **(labels or {})}
        container = self.create(image, command, limits=limits, mounts=mounts, labels=labels)
        try:
            return self._supervise(container, limits, output, labels, cancel)
        finally:
            try:
                container.remove(force=True)
            except NotFound:
                pass
            except DockerException:
                log.exception("could not remove container %s; the next sweep will", container.id[:12])

    def _supervise(  # type: ignore[no-untyped-def]
        self,
        container,
        limits: Limits,
        output: Path | None,
        labels: dict[str, str],
        cancel: threading.Event | None,
    ) -> RunResult:
        probe = _CgroupProbe(container.id)
        killed: Outcome | None = None
        try:
            container.start()
        except DockerException as exc:
            raise SandboxError(f"could not start the container: {exc}") from exc
        started = time.monotonic()
        deadline = started + limits.time_s
        while True:
            probe.sample()
            container.reload()
            if container.status in ("exited", "dead"):
                break
            if cancel is not None and cancel.is_set():
                killed = Outcome.CANCELLED
            elif time.monotonic() >= deadline:
                killed = Outcome.TIMEOUT
            elif output is not None and _folder_bytes(output) > limits.output_mb * 2**20:
                killed = Outcome.OUTPUT_TOO_LARGE
            if killed is not None:
                with contextlib.suppress(DockerException):  # it may have exited on its own meanwhile
                    container.kill()
                container.reload()
                break
            time.sleep(POLL_S)
        wall = time.monotonic() - started
        for _ in range(100):  # a killed container takes a moment to be reported as exited
            if container.status in ("exited", "dead"):
                break
            time.sleep(POLL_S)
            container.reload()
        state = container.attrs["State"]
        exit_code = state.get("ExitCode")
        raw = container.logs(stdout=True, stderr=True, tail=400)
        logs = raw[-limits.log_bytes :].decode("utf-8", errors="replace")
        if killed is not None:
            outcome = killed
        elif state.get("OOMKilled"):
            outcome = Outcome.OUT_OF_MEMORY
        elif exit_code == 137 and wall >= limits.own_deadline_s - 1:
            outcome = Outcome.TIMEOUT  # the container's own deadline fired before ours
        elif exit_code == 137:
            outcome = Outcome.OUT_OF_MEMORY  # 137 = SIGKILL, and we did not send it
        elif exit_code != 0:
            outcome = Outcome.CRASHED
        else:
            outcome = Outcome.OK
        usage = Usage(wall_s=wall, cpu_s=probe.cpu_s, peak_memory_mb=probe.peak_mb)
        return RunResult(outcome=outcome, exit_code=exit_code, usage=usage, logs=logs, labels=labels)
