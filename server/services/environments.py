"""A challenge's environment as the API sees it: declared with its bundle, shown to everyone (Python,
each package==version, the state), its build log to its staff; model and code uploads wait for it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.environments import PYTHON_VERSION, Pin, default_pins, parse_lock, requirements_txt
from core.models import Challenge, ChallengeEnvironment, EnvironmentState, utcnow
from core.queue import ArqQueue
from server.errors import Conflict
from server.services import audit
from server.services.accounts import Viewer
from server.services.staff import Access, require_staff


@dataclass(frozen=True, slots=True)
class Environment:
    python: str
    packages: list[Pin]  # empty until resolved
    state: str
    requested: list[str]  # the bundle's own packages (none: the default runtime)
    log: str | None  # the build's log, for staff only


async def declare(session: AsyncSession, challenge_id: int, spec: ChallengeSpec) -> None:
    """Record the bundle's packages in the caller's transaction; a new or changed list (or one that
    failed before) is queued for a worker to build. No packages: the default runtime."""
    requested = "\n".join(spec.runtime.packages)
    row = await session.get(ChallengeEnvironment, challenge_id)
    if not requested:
        if row is not None:
            await session.delete(row)
        return
    if row is not None and row.requested == requested and row.state != EnvironmentState.FAILED:
        return
    row = row or ChallengeEnvironment(challenge_id=challenge_id, requested=requested)
    _queue_again(row, requested)
    session.add(row)


def _queue_again(row: ChallengeEnvironment, requested: str) -> None:
    row.requested, row.state, row.lock, row.image = requested, EnvironmentState.QUEUED, None, None
    row.log, row.updated_at = "", utcnow()


async def start_build(session: AsyncSession, queue: ArqQueue, challenge_id: int) -> None:
    """After the commit: hand a queued environment to the workers now (the reconciler would, later)."""
    row = await session.get(ChallengeEnvironment, challenge_id)
    if row is not None and row.state == EnvironmentState.QUEUED:
        await queue.enqueue_environment(challenge_id, f"{row.updated_at.timestamp():.0f}")


async def rebuild(session: AsyncSession, queue: ArqQueue, viewer: Viewer, challenge: Challenge) -> None:
    """Resolve and build again (organisers): after a failure, or to take newer releases that fit."""
    assert challenge.id is not None
    await require_staff(session, viewer, challenge, organiser=True)
    row = await session.get(ChallengeEnvironment, challenge.id)
    if row is None:
        raise Conflict(
            f"{challenge.slug!r} runs the default runtime; declare runtime.packages to have its own"
        )
    if row.state in (EnvironmentState.RESOLVING, EnvironmentState.BUILDING):
        raise Conflict(f"the environment of {challenge.slug!r} is being built ({row.state}); wait for it")
    _queue_again(row, row.requested)
    audit.record(session, viewer, challenge, "environment.rebuild", challenge.slug, None, None)
    await session.commit()
    await start_build(session, queue, challenge.id)


async def environment_of(session: AsyncSession, challenge: Challenge, access: Access) -> Environment:
    assert challenge.id is not None
    row = await session.get(ChallengeEnvironment, challenge.id)
    if row is None:
        return Environment(PYTHON_VERSION, default_pins(), EnvironmentState.READY.value, [], None)
    pins = parse_lock(row.lock) if row.lock else []
    log = row.log if access.is_staff else None
    return Environment(PYTHON_VERSION, pins, row.state, row.requested.splitlines(), log)


def requirements_file(environment: Environment, title: str) -> str:
    if not environment.packages:
        raise Conflict(f"the environment is {environment.state}: its versions are not known yet")
    return requirements_txt(environment.packages, title)


async def runtime_image(session: AsyncSession, challenge_id: int, spec: ChallengeSpec) -> str:
    """The image model and code submissions run in; 409 while the challenge's own is not ready."""
    row = await session.get(ChallengeEnvironment, challenge_id)
    if row is None:
        return spec.runtime_image
    if row.state == EnvironmentState.READY and row.image:
        return row.image
    if row.state == EnvironmentState.FAILED:
        raise Conflict(
            f"the environment of {spec.slug!r} failed to build; its organisers have the log and can rebuild "
            "it. Model and code submissions wait for it; prediction files are accepted now"
        )
    raise Conflict(
        f"the environment of {spec.slug!r} is being prepared ({row.state}); model and code submissions "
        f"open when it is ready (/api/challenges/{spec.slug}/environment); prediction files are accepted now"
    )
