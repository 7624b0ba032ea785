"""Checking an uploaded bundle in a process of its own, with its memory and time bounded.

A bundle's check reads its labels, features and baselines: a 150 MB labels file once grew the API
process by 2.8 GB and held its event loop's thread (and the GIL) for over a minute. Here the check
runs in a child forked from a server process that has the bundle code loaded already (about 10 ms a
check after the first), under an address-space limit, at a lower CPU priority, killed at its
deadline. It puts the bundle's files in the store and hands back a `StoredBundle` as JSON: nothing
of the bundle's data crosses into the API process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import resource
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from core.storage import BlobStore
from server.errors import PayloadTooLarge, ProblemAt
from server.services.bundles import MAX_BUNDLE_BYTES, invalid
from server.services.stored_bundles import StoredBundle

log = logging.getLogger(__name__)

# Loaded once by the fork server, so that each check starts with them in place.
_PRELOAD = ["challenges.importers", "server.services.stored_bundles", "server.services.bundles"]
_MB = 2**20


@dataclass(frozen=True, slots=True)
class CheckLimits:
    memory_mb: int = 4096  # the check's address space (a million-row test set needs about 1 GB)
    timeout_s: float = 600.0


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _check(zip_path: str, store_root: str, scratch: str, memory_mb: int, conn: Connection) -> None:
    """In the child: bound itself, check the bundle, store its files, send the outcome as JSON."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * _MB, memory_mb * _MB))
    os.nice(10)  # requests first: the API's own process shares these cores
    started = time.monotonic()
    try:
        outcome = _outcome(Path(zip_path), BlobStore(Path(store_root)), Path(scratch))
    except MemoryError:
        outcome = {"memory": True}
    outcome["seconds"] = round(time.monotonic() - started, 3)
    outcome["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    conn.send_bytes(json.dumps(outcome).encode())
    conn.close()


def _outcome(zip_path: Path, store: BlobStore, scratch: Path) -> dict[str, Any]:
    from challenges.bundle import BundleError
    from challenges.importers import load_any
    from core.archive import ArchiveError, extract_archive
    from server.services.bundles import BUNDLE_LIMITS, unpack_nested
    from server.services.stored_bundles import store_bundle

    unpacked = scratch / "bundle"
    try:
        extract_archive(zip_path, unpacked, BUNDLE_LIMITS)
    except ArchiveError as exc:
        return {"detail": "bundle: not a usable zip", "problems": [["bundle", str(exc)]]}
    try:
        bundle = load_any(unpacked, scratch / "translated", unpack_nested)
    except BundleError as exc:
        return {"detail": "bundle: invalid", "problems": [[p.path, p.message] for p in exc.problems]}
    except RecursionError:
        return {"detail": "bundle: invalid", "problems": [["bundle", "nested too deeply to read"]]}
    except MemoryError:
        raise
    except Exception as exc:  # untrusted input met a case no check names: refuse it, say what
        traceback.print_exc()
        message = f"could not be read ({type(exc).__name__}: {str(exc)[:300]})"
        return {"detail": "bundle: invalid", "problems": [["bundle", message]]}
    return {"bundle": store_bundle(bundle, store).as_json()}


def _save(source: BinaryIO, path: Path, limit: int) -> None:
    size = 0
    with path.open("wb") as sink:
        while chunk := source.read(_MB):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"bundle: larger than the limit of {limit:,} bytes")
            sink.write(chunk)


def _wait(process: Any, conn: Connection, timeout_s: float) -> tuple[bytes | None, bool]:
    """The child's outcome (None if it sent none), and whether it ran out of time (then it is killed)."""
    try:
        if conn.poll(timeout_s):
            return conn.recv_bytes(), False
        return None, True
    except EOFError:  # it died without a word
        return None, False
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        conn.close()


async def check_upload(
    source: BinaryIO, store: BlobStore, limits: CheckLimits, *, max_bytes: int = MAX_BUNDLE_BYTES
) -> StoredBundle:
    """A validated bundle from an uploaded zip, its files in the store; or Unprocessable listing
    every problem found (PayloadTooLarge past `max_bytes`). The check runs in a bounded child."""
    with tempfile.TemporaryDirectory(prefix="riality-bundle-") as folder:
        zip_path = Path(folder) / "bundle.zip"
        await asyncio.to_thread(_save, source, zip_path, max_bytes)
        context = _context()
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=_check,
            args=(str(zip_path), str(store.root), folder, limits.memory_mb, theirs),
            name="riality-bundle-check",
            daemon=True,
        )
        await asyncio.to_thread(process.start)  # the first start launches the fork server (~2 s)
        theirs.close()
        try:
            raw, late = await asyncio.to_thread(_wait, process, ours, limits.timeout_s)
        finally:
            if process.is_alive():  # the request was cancelled meanwhile
                process.kill()
    if raw is None:
        if late:
            reason = f"checking it took longer than {limits.timeout_s:g} s"
        else:
            reason = f"its check ended abnormally (exit code {process.exitcode}), most likely out of memory"
        log.warning("bundle check failed: %s", reason)
        raise invalid("bundle: could not be checked", [ProblemAt("bundle", _advice(reason, limits))])
    outcome = json.loads(raw)
    log.info(
        "bundle checked in %.1f s, its check's peak memory %.0f MB", outcome["seconds"], outcome["peak_mb"]
    )
    if outcome.get("memory"):
        reason = f"checking it needs more than {limits.memory_mb:,} MB of memory"
        raise invalid("bundle: could not be checked", [ProblemAt("bundle", _advice(reason, limits))])
    if "problems" in outcome:
        raise invalid(outcome["detail"], [ProblemAt(path, message) for path, message in outcome["problems"]])
    return StoredBundle.from_json(outcome["bundle"])


def _advice(reason: str, limits: CheckLimits) -> str:
    return (
        f"{reason}; a test set of a million rows checks in well under that. Make the files smaller, or ask "
        f"the operator to raise RIALITY_BUNDLE_CHECK_MEMORY_MB ({limits.memory_mb}) or "
        f"RIALITY_BUNDLE_CHECK_TIMEOUT_S ({limits.timeout_s:g})"
    )
