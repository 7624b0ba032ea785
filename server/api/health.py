"""Liveness of the API and of what it depends on."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core import workers
from server.api.schemas import HealthOut, WorkerOut


@get(
    "/api/health",
    tags=["health"],
    responses={
        503: ResponseSpec(
            data_container=HealthOut, description="A dependency is down", generate_examples=False
        )
    },
)
async def health(db_session: NamedDependency[AsyncSession], state: State) -> Response[HealthOut]:
    database = redis = "ok"
    try:
        await db_session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # reported, not raised: health must answer when a dependency is down
        database = f"error: {type(exc).__name__}"
    beats: list[workers.Heartbeat] = []
    try:
        await state.queue.redis.ping()
        beats = await workers.live_workers(state.queue.redis)
    except Exception as exc:
        redis = f"error: {type(exc).__name__}"
    ok = database == redis == "ok"
    return Response(
        HealthOut(
            status="ok" if ok else "degraded",
            database=database,
            redis=redis,
            live_streams=state.hub.open_streams,
            workers=[
                WorkerOut(
                    worker=b.worker,
                    host=b.host,
                    docker=b.docker,
                    reason=b.reason,
                    slots=b.slots,
                    free_slots=b.free_slots,
                    seen=datetime.fromtimestamp(b.seen, UTC),
                    gpus=b.gpus,
                    lanes=list(b.lanes),
                )
                for b in beats
            ],
        ),
        status_code=200 if ok else 503,
    )
