"""Building a challenge's own environment in the background: its packages resolved to a lock (the
default runtime's beside them), then its image built, or reused when another challenge resolved to
the same lock. Staff read the log; model and code uploads wait for `ready` (the API says 409)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from docker.errors import BuildError, DockerException
from sqlalchemy import or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from core.db import SessionMaker
from core.environments import image_tag, parse_lock, requirements_for
from core.models import ChallengeEnvironment, EnvironmentState, utcnow
from runner.images import build_environment_image, build_output
from runner.sandbox import Sandbox, SandboxError
from runner.wheels import WheelError, resolve

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=30)  # a build claimed this long ago by a worker that died is taken over
LOG_LIMIT = 60_000  # characters of log kept (the end of it)
BUSY = (EnvironmentState.RESOLVING, EnvironmentState.BUILDING)


class EnvironmentNotReady(Exception):
    """The challenge's environment is still being built (or failed): its image cannot run yet."""


def _to_build(now: datetime) -> ColumnElement[bool]:
    """An environment a worker should build: queued, or abandoned mid-build by a worker that died."""
    return or_(
        col(ChallengeEnvironment.state) == EnvironmentState.QUEUED,
        col(ChallengeEnvironment.state).in_(BUSY)
        & (col(ChallengeEnvironment.updated_at) < now - STALE_AFTER),
    )


async def _claim(sessions: SessionMaker, challenge_id: int) -> str | None:
    """Take the build; the requested packages, or None if it is not (or no longer) to be built."""
    now = utcnow()
    table = ChallengeEnvironment.__table__  # type: ignore[attr-defined]
    async with sessions() as session:
        claimed = await session.exec(
            update(table)
            .where(table.c.challenge_id == challenge_id, _to_build(now))
            .values(state=EnvironmentState.RESOLVING, updated_at=now, log="", lock=None, image=None)
        )
        await session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = await session.get(ChallengeEnvironment, challenge_id)
        return None if row is None else row.requested


async def _record(sessions: SessionMaker, challenge_id: int, requested: str, **values: object) -> None:
    """Write the build's progress, unless the bundle changed its packages meanwhile (a new build runs)."""
    if isinstance(values.get("log"), str):
        values["log"] = str(values["log"])[-LOG_LIMIT:]
    table = ChallengeEnvironment.__table__  # type: ignore[attr-defined]
    async with sessions() as session:
        await session.exec(
            update(table)
            .where(table.c.challenge_id == challenge_id, table.c.requested == requested)
            .values(updated_at=utcnow(), **values)
        )
        await session.commit()


def _resolve(packages: list[str], notes: list[str]) -> str:
    requirements, constraints = requirements_for(packages)
    header = f"The environment of a challenge: {' '.join(packages)}"
    try:
        return resolve(requirements, header, constraints)
    except WheelError as exc:
        notes.append(f"not resolvable at the default runtime's versions:\n{exc}\nresolving without them")
        return resolve(requirements, header)


async def build_environment(sessions: SessionMaker, sandbox: Sandbox | None, challenge_id: int) -> str:
    """Resolve and build a challenge's environment; the state it ended in ('skipped' if not ours: a
    worker without Docker leaves it queued for one with, which the reconciler hands it to)."""
    requested = None if sandbox is None else await _claim(sessions, challenge_id)
    if sandbox is None or requested is None:
        return "skipped"
    notes = [f"requested: {', '.join(requested.splitlines())}"]
    try:
        lock = await asyncio.to_thread(_resolve, requested.splitlines(), notes)
        pins = parse_lock(lock)
        tag = image_tag(pins)
        notes.append(f"resolved {len(pins)} packages: {', '.join(pin.line() for pin in pins)}")
        await _record(
            sessions,
            challenge_id,
            requested,
            state=EnvironmentState.BUILDING,
            lock=lock,
            log="\n".join(notes),
        )
        built = await asyncio.to_thread(build_environment_image, sandbox.client, tag, lock)
        notes.append(built.log.strip() if built.built else f"{tag} already built: reused")
        notes.append(f"ready: {tag}")
        await _record(
            sessions, challenge_id, requested, state=EnvironmentState.READY, image=tag, log="\n".join(notes)
        )
        return EnvironmentState.READY.value
    except (WheelError, BuildError, DockerException, SandboxError, RuntimeError, OSError) as exc:
        notes += [build_output(getattr(exc, "build_log", None) or ()).strip(), f"failed: {exc}"]
        log.warning("environment of challenge %s failed: %s", challenge_id, exc)
        await _record(
            sessions,
            challenge_id,
            requested,
            state=EnvironmentState.FAILED,
            log="\n".join(filter(None, notes)),
        )
        return EnvironmentState.FAILED.value


async def waiting(sessions: SessionMaker) -> list[tuple[int, str]]:
    """Environments to (re)start: queued, or abandoned mid-build (challenge id, row version)."""
    now = utcnow()
    async with sessions() as session:
        rows = await session.exec(
            select(ChallengeEnvironment.challenge_id, ChallengeEnvironment.updated_at).where(_to_build(now))
        )
        return [(challenge_id, f"{updated_at.timestamp():.0f}") for challenge_id, updated_at in rows.all()]


def ensure_image(sandbox: Sandbox, tag: str, lock: str) -> None:
    """Blocking: this host has the environment's image, current with the harness (built here if another
    worker host built it first, or the harness changed since; a no-op otherwise)."""
    if build_environment_image(sandbox.client, tag, lock).built:
        log.info("built %s on this host", tag)
