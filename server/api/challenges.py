"""Challenges: reading them and their public files, and their staff's lifecycle actions."""

from __future__ import annotations

import asyncio
from datetime import datetime

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, MultipartBody
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ChallengeSpec
from core.challenges import spec_of
from core.lifecycle import state_of
from core.models import Challenge, ChallengeState, Rescore, utcnow
from server.api.boards import PhaseQuery
from server.api.deps import announce_board_change
from server.api.openapi import errors
from server.api.schemas import (
    BaselineStateOut,
    BundleForm,
    BundleReplaced,
    ChallengeCreated,
    ChallengeDetail,
    ChallengeEditIn,
    ChallengeSummary,
    FileOut,
    GroupOut,
    GroupsOut,
    LimitsOut,
    PhaseOut,
    RescoreOut,
    given,
)
from server.api.staff import staff_challenge
from server.services import audit, bundle_check, bundles, environments, lifecycle, rescoring, staff
from server.services import challenges as service
from server.services.accounts import Viewer
from server.services.boards import board_phase
from server.services.lifecycle import Edit


def challenge_status(challenge: Challenge, spec: ChallengeSpec) -> str:
    """What a participant can do now: upcoming, open or closed."""
    now = utcnow()
    if state_of(challenge, spec, now) in (ChallengeState.CLOSED, ChallengeState.REVEALED):
        return "closed"
    return "open" if spec.schedule.is_open(now) else "upcoming"


def phases_out(spec: ChallengeSpec, now: datetime) -> list[PhaseOut]:
    """The challenge's phases, in order, each with where it stands at `now`."""
    current = spec.phase_at(now)
    found = []
    for key in spec.phase_keys:
        phase, runs = spec.phase(key), spec.phase_spec(key)
        schedule = runs.schedule
        status = "open" if schedule.is_open(now) else "closed" if schedule.is_closed(now) else "upcoming"
        found.append(
            PhaseOut(
                key=key,
                title=phase.title if phase else runs.title,
                description=phase.description if phase else "",
                opens=schedule.opens,
                closes=schedule.closes,
                status=status,
                current=key == current,
                migrate=phase.migrate if phase else False,
                kinds=[k.value for k in runs.kinds],
                metric=runs.metric,
            )
        )
    return found


def summary_fields(challenge: Challenge, spec: ChallengeSpec) -> dict[str, object]:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "status": challenge_status(challenge, spec),
        "state": state_of(challenge, spec, utcnow()).value,
        "opens": spec.schedule.opens,
        "closes": spec.schedule.closes,
        "metric": spec.metric,
        "higher_is_better": spec.primary_metric.higher_is_better,
        "kinds": [k.value for k in spec.kinds],
    }


async def challenge_detail(
    session: AsyncSession, viewer: Viewer | None, challenge: Challenge, phase: str | None = None
) -> ChallengeDetail:
    """The challenge as its current phase (or `phase`) runs it, with the list of its phases."""
    access = await staff.access_to(session, viewer, challenge.id)
    whole = spec_of(challenge)
    shown = board_phase(challenge, phase)
    spec = whole.phase_spec(shown)
    query = f"?phase={shown}" if whole.phases else ""
    files = [
        FileOut(name=f.name, size=f.size, url=f"/api/challenges/{challenge.slug}/files/{f.name}{query}")
        for f in await service.public_files(session, challenge, shown, staff=access.is_staff)
    ]
    limits = spec.limits
    summary = {
        **summary_fields(challenge, whole),
        "metric": spec.metric,
        "kinds": [k.value for k in spec.kinds],
    }
    return ChallengeDetail(
        **summary,  # type: ignore[arg-type]
        description=spec.description,
        extra_metrics=[m.name for m in spec.extras],  # a scoring program's other columns too
        id_column=spec.id_column,
        target_column=spec.target_column,
        prediction_columns=challenge.columns,
        public_fraction=spec.public_fraction,
        limits=LimitsOut(
            per_day=limits.per_day,
            invalid_per_day=limits.invalid_per_day,
            total=limits.total,
            team_size=limits.team_size,
            final_selections=limits.final_selections,
            upload_mb=limits.upload_mb,
            time_s=limits.time_s,
            memory_mb=limits.memory_mb,
            max_cpu_s=limits.max_cpu_s,
            max_mib=limits.max_mib,
        ),
        files=sorted(files, key=lambda f: f.name),
        reveal=spec.schedule.reveal,
        staff_role=access.staff.value if access.staff else None,
        groups=groups_out(challenge, spec),
        public_board=spec.public_board.value,
        baselines=[
            BaselineStateOut(b.name, b.kind, b.state, b.error if access.is_staff else None)
            for b in await service.challenge_baselines(session, challenge)
            if b.phase == shown
        ],
        import_report=challenge.import_report if access.is_staff else None,
        phase=shown,
        phases=phases_out(whole, utcnow()),
    )


def groups_out(challenge: Challenge, spec: ChallengeSpec) -> GroupsOut | None:
    if spec.groups is None:
        return None
    sizes = challenge.group_sizes
    public, private = sizes.get("public", {}), sizes.get("private", {})
    return GroupsOut(
        column=spec.groups.column,
        min_size=spec.groups.min_size,
        rank_by=spec.rank_by.value,
        groups=[
            GroupOut(name, public.get(name, 0), private.get(name, 0)) for name in sorted(public | private)
        ],
    )


def bundle_limits(state: State) -> bundle_check.CheckLimits:
    settings = state.settings
    return bundle_check.CheckLimits(settings.bundle_check_memory_mb, settings.bundle_check_timeout_s)


def rescore_out(row: Rescore) -> RescoreOut:
    assert row.id is not None
    return RescoreOut(row.id, row.reason, row.total, row.done, row.failed, row.started_at, row.finished_at)


class ChallengeController(Controller):
    path = "/api/challenges"
    tags = ["challenges"]

    @get("/")
    async def list_challenges(
        self, db_session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer | None]
    ) -> list[ChallengeSummary]:
        rows = await service.list_challenges(db_session, viewer)
        return [ChallengeSummary(**summary_fields(c, spec_of(c))) for c in rows]  # type: ignore[arg-type]

    @post("/", status_code=201, responses=errors(400, 401, 403, 409, 413, 422))
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        data: MultipartBody[BundleForm],
    ) -> ChallengeCreated:
        """Create a draft challenge from a bundle zip (challenge.yaml and its data). An invalid bundle is
        refused with every problem listed (`problems`), and nothing of it is kept."""
        try:
            bundle = await bundle_check.check_upload(data.bundle.file, state.store, bundle_limits(state))
        finally:
            await data.bundle.close()
        challenge = await lifecycle.create_challenge(db_session, current_user, bundle)
        assert challenge.id is not None
        await environments.start_build(db_session, state.queue, challenge.id)
        await service.start_baselines(db_session, state.queue, challenge.id)
        return ChallengeCreated(
            slug=challenge.slug,
            state=challenge.state,
            title=challenge.title,
            url=f"/c/{challenge.slug}",
            import_report=challenge.import_report,
        )

    @get("/{slug:str}", responses=errors(400, 401, 404))
    async def get_challenge(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        phase: PhaseQuery = None,
    ) -> ChallengeDetail:
        """The challenge as its current phase runs it (or as `phase` does), and its phases."""
        challenge = await service.get_challenge(db_session, slug, viewer)
        return await challenge_detail(db_session, viewer, challenge, phase)

    @patch("/{slug:str}", responses=errors(400, 401, 403, 404, 422))
    async def edit(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: JSONBody[ChallengeEditIn],
    ) -> ChallengeDetail:
        """Change the title, description, schedule or limits (organisers); validated like challenge.yaml."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        edit = Edit(
            title=data.title,
            description=data.description,
            schedule=given(data.schedule),
            limits=given(data.limits),
        )
        await lifecycle.edit_challenge(db_session, current_user, challenge, edit)
        await announce_board_change(state, slug)  # the boards' pages carry the title and metric
        return await challenge_detail(db_session, current_user, challenge)

    async def _move(
        self, session: AsyncSession, state: State, viewer: Viewer, slug: str, step: lifecycle.Step
    ) -> ChallengeDetail:
        challenge = await staff_challenge(session, viewer, slug, organiser=True)
        await step(session, viewer, challenge)
        await announce_board_change(state, slug)  # streams of the private board may now open
        return await challenge_detail(session, viewer, challenge)

    @post("/{slug:str}/publish", status_code=200, responses=errors(401, 403, 404, 409))
    async def publish(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> ChallengeDetail:
        """Draft → published: visible to everyone, open for submissions by its schedule."""
        return await self._move(db_session, state, current_user, slug, lifecycle.publish)

    @post("/{slug:str}/close", status_code=200, responses=errors(401, 403, 404, 409))
    async def close(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> ChallengeDetail:
        """Published → closed now (before the schedule's close): no more submissions or final
        selections; the private board stays with the staff."""
        return await self._move(db_session, state, current_user, slug, lifecycle.close)

    @post("/{slug:str}/reveal", status_code=200, responses=errors(401, 403, 404, 409))
    async def reveal(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> ChallengeDetail:
        """Closed → revealed: the private board and private scores become public."""
        return await self._move(db_session, state, current_user, slug, lifecycle.reveal)

    @delete("/{slug:str}", status_code=204, responses=errors(401, 403, 404, 409))
    async def delete(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> None:
        """Delete a draft, or a challenge no participant has submitted to (organisers)."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        await lifecycle.delete_challenge(db_session, current_user, challenge)
        await announce_board_change(state, slug)

    @put("/{slug:str}/bundle", status_code=200, responses=errors(400, 401, 403, 404, 409, 413, 422))
    async def replace_bundle(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
        data: MultipartBody[BundleForm],
    ) -> BundleReplaced:
        """Replace the bundle (same slug, same checks as creating). If the hidden labels, the split or the
        scorer changed, every scored submission is rescored and the boards change once, at the end."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        try:
            bundle = await bundle_check.check_upload(data.bundle.file, state.store, bundle_limits(state))
        finally:
            await data.bundle.close()
        changed = await lifecycle.replace_bundle(db_session, current_user, challenge, bundle)
        assert challenge.id is not None
        await environments.start_build(db_session, state.queue, challenge.id)
        await service.start_baselines(db_session, state.queue, challenge.id)
        rescore = None
        if changed:
            reason = "bundle replaced: " + ", ".join(changed)
            rescore = await rescoring.start_rescore(db_session, state.queue, current_user, challenge, reason)
        else:  # the page's text, schedule or limits may have changed: no scores did
            await announce_board_change(state, slug)
        return BundleReplaced(slug=slug, rescore=rescore_out(rescore) if rescore else None, changed=changed)

    @post("/{slug:str}/rescore", status_code=202, responses=errors(401, 403, 404))
    async def rescore(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> RescoreOut:
        """Score every scored submission again (organisers); the boards change once, when all are done."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        started = await rescoring.start_rescore(
            db_session, state.queue, current_user, challenge, "on request"
        )
        return rescore_out(started)

    @post("/{slug:str}/baselines/rerun", status_code=202, responses=errors(401, 403, 404, 409))
    async def rerun_baselines(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[BaselineStateOut]:
        """Run the bundle's model and code baselines again (organisers); 409 if there is none to run."""
        challenge = await staff_challenge(db_session, current_user, slug, organiser=True)
        await service.rerun_baselines(db_session, state.queue, current_user, challenge)
        return [
            BaselineStateOut(b.name, b.kind, b.state, b.error)
            for b in await service.challenge_baselines(db_session, challenge)
        ]

    @get("/{slug:str}/rescore", responses=errors(401, 404))
    async def rescores(
        self,
        db_session: NamedDependency[AsyncSession],
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> list[RescoreOut]:
        """The challenge's rescores, newest first, with their progress (staff)."""
        challenge = await staff_challenge(db_session, current_user, slug)
        return [rescore_out(r) for r in await rescoring.recent_rescores(db_session, challenge)]

    @get(
        "/{slug:str}/bundle",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/zip",
                description="The bundle zip",
                generate_examples=False,
            ),
            **errors(401, 404),
        },
    )
    async def download_bundle(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[bytes]:
        """The challenge's current bundle as a zip, hidden labels included (its staff only)."""
        challenge = await staff_challenge(db_session, current_user, slug)
        files = await service.challenge_files(db_session, challenge)
        baselines = await service.challenge_baselines(db_session, challenge)
        body = await asyncio.to_thread(bundles.bundle_zip, spec_of(challenge), files, state.store, baselines)
        audit.record(db_session, current_user, challenge, "bundle.download", slug)
        await db_session.commit()
        return Response(
            body,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{slug}.zip"'},
        )

    @get(
        "/{slug:str}/files/{name:str}",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/csv",
                description="The file (a CSV; the starter kit: Python as text/plain, a notebook, or a zip)",
                generate_examples=False,
            ),
            **errors(400, 401, 404),
        },
    )
    async def download(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
        name: FromPath[str],
        phase: PhaseQuery = None,
    ) -> File:
        """A public file of the current phase (or of `phase`)."""
        challenge = await service.get_challenge(db_session, slug, viewer)
        staff_of = (await staff.access_to(db_session, viewer, challenge.id)).is_staff
        row = await service.public_file(
            db_session, challenge, name, board_phase(challenge, phase), staff=staff_of
        )
        return File(
            path=state.store.path(row.sha256), filename=row.name, media_type=service.media_type(row.name)
        )
