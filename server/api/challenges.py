"""Challenges and their public files."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.challenges import spec_of
from core.models import Challenge, utcnow
from server.api.openapi import errors
from server.api.schemas import ChallengeDetail, ChallengeSummary, FileOut, LimitsOut
from server.services import challenges as service


def challenge_status(spec: ChallengeSpec) -> str:
    now = utcnow()
    if spec.schedule.is_closed(now):
        return "closed"
    return "open" if spec.schedule.is_open(now) else "upcoming"


def _summary_fields(challenge: Challenge, spec: ChallengeSpec) -> dict[str, object]:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "status": challenge_status(spec),
        "opens": spec.schedule.opens,
        "closes": spec.schedule.closes,
        "metric": spec.metric,
        "higher_is_better": spec.primary_metric.higher_is_better,
        "kinds": [k.value for k in spec.kinds],
    }


class ChallengeController(Controller):
    path = "/api/challenges"
    tags = ["challenges"]

    @get("/")
    async def list_challenges(self, db_session: NamedDependency[AsyncSession]) -> list[ChallengeSummary]:
        rows = await service.list_challenges(db_session)
        return [ChallengeSummary(**_summary_fields(c, spec_of(c))) for c in rows]  # type: ignore[arg-type]

    @get("/{slug:str}", responses=errors(404))
    async def get_challenge(
        self, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> ChallengeDetail:
        challenge = await service.get_challenge(db_session, slug)
        spec = spec_of(challenge)
        files = [
            FileOut(name=f.name, size=f.size, url=f"/api/challenges/{slug}/files/{f.name}")
            for f in await service.challenge_files(db_session, challenge)
            if f.public
        ]
        limits = spec.limits
        return ChallengeDetail(
            **_summary_fields(challenge, spec),  # type: ignore[arg-type]
            description=spec.description,
            extra_metrics=spec.extra_metrics,
            id_column=spec.id_column,
            target_column=spec.target_column,
            prediction_columns=challenge.columns,
            public_fraction=spec.public_fraction,
            limits=LimitsOut(
                per_day=limits.per_day,
                total=limits.total,
                team_size=limits.team_size,
                final_selections=limits.final_selections,
                upload_mb=limits.upload_mb,
            ),
            files=sorted(files, key=lambda f: f.name),
        )

    @get(
        "/{slug:str}/files/{name:str}",
        responses={
            200: ResponseSpec(
                data_container=str, media_type="text/csv", description="The file", generate_examples=False
            ),
            **errors(404),
        },
    )
    async def download(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        slug: FromPath[str],
        name: FromPath[str],
    ) -> File:
        challenge = await service.get_challenge(db_session, slug)
        row = await service.public_file(db_session, challenge, name)
        return File(path=state.store.path(row.sha256), filename=row.name, media_type="text/csv")
