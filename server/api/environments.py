"""A challenge's environment: what its model and code submissions run with, for teams to match."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.openapi import errors
from server.api.schemas import EnvironmentOut, PackageOut
from server.services import challenges as service
from server.services import environments, staff
from server.services.accounts import Viewer
from server.services.environments import Environment


def environment_out(slug: str, environment: Environment) -> EnvironmentOut:
    return EnvironmentOut(
        python=environment.python,
        packages=[PackageOut(pin.name, pin.version) for pin in environment.packages],
        state=environment.state,
        requested=environment.requested,
        requirements_url=f"/api/challenges/{slug}/requirements.txt",
        log=environment.log,
    )


class EnvironmentController(Controller):
    path = "/api/challenges"
    tags = ["challenges"]

    @get("/{slug:str}/environment", responses=errors(401, 404))
    async def environment(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
    ) -> EnvironmentOut:
        """The Python version and every package==version model and code submissions run with, and
        whether it is ready (a challenge's own environment is built in the background)."""
        challenge = await service.get_challenge(db_session, slug, viewer)
        access = await staff.access_to(db_session, viewer, challenge.id)
        return environment_out(slug, await environments.environment_of(db_session, challenge, access))

    @get("/{slug:str}/requirements.txt", media_type="text/plain", responses=errors(401, 404, 409))
    async def requirements(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
    ) -> Response[str]:
        """The environment as a requirements file: `pip install -r requirements.txt` to train with the
        sandbox's versions. 409 while a challenge's own environment is not resolved yet."""
        challenge = await service.get_challenge(db_session, slug, viewer)
        access = await staff.access_to(db_session, viewer, challenge.id)
        environment = await environments.environment_of(db_session, challenge, access)
        return Response(
            environments.requirements_file(environment, challenge.title),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="requirements.txt"'},
        )

    @post("/{slug:str}/environment/rebuild", status_code=202, responses=errors(401, 403, 404, 409))
    async def rebuild(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> EnvironmentOut:
        """Resolve and build the challenge's own environment again (organisers): after a failure, or to
        take newer releases that fit its packages."""
        challenge = await service.get_challenge(db_session, slug, current_user)
        await environments.rebuild(db_session, state.queue, current_user, challenge)
        access = await staff.access_to(db_session, current_user, challenge.id)
        return environment_out(slug, await environments.environment_of(db_session, challenge, access))
