"""GET /metrics: the Prometheus text format, built with the official client for each scrape from a
snapshot (server.services.metrics). A registry per scrape: no process-wide state to reset in tests."""

from __future__ import annotations

from collections.abc import Iterator
from hmac import compare_digest

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel.ext.asyncio.session import AsyncSession

from server.errors import Unauthenticated
from server.services.metrics import Snapshot, snapshot


class _Families(Collector):
    def __init__(self, data: Snapshot) -> None:
        self.data = data

    def collect(self) -> Iterator[Metric]:
        data = self.data
        queue = GaugeMetricFamily("riality_queue_jobs", "Jobs in each lane's queue", labels=["lane", "state"])
        for (lane, state), n in sorted(data.queue.items()):
            queue.add_metric([lane, state], n)
        yield queue
        submissions = GaugeMetricFamily(
            "riality_submissions", "Submissions by status and kind", labels=["status", "kind"]
        )
        for (status, kind), n in sorted(data.submissions.items()):
            submissions.add_metric([status, kind], n)
        yield submissions
        latency = HistogramMetricFamily(
            "riality_evaluation_seconds",
            "From upload to result, per finished submission",
            labels=["kind", "status"],
        )
        for h in data.evaluations:
            latency.add_metric([h.kind, h.status], buckets=h.buckets, sum_value=h.sum)
        yield latency
        runs = CounterMetricFamily("riality_sandbox_runs", "Sandbox runs by outcome", labels=["outcome"])
        for outcome, n in sorted(data.sandbox_runs.items()):
            runs.add_metric([outcome], n)
        yield runs
        yield GaugeMetricFamily(
            "riality_workers_live", "Workers with a live heartbeat", value=len(data.workers)
        )
        slots = GaugeMetricFamily(
            "riality_worker_sandbox_slots", "Each live worker's sandbox slots", labels=["worker", "state"]
        )
        for beat in data.workers:
            slots.add_metric([beat.worker, "total"], beat.slots)
            slots.add_metric([beat.worker, "free"], beat.free_slots)
        yield slots
        yield GaugeMetricFamily(
            "riality_live_streams", "Open board streams (SSE) of this API process", value=data.live_streams
        )
        rebuilds = CounterMetricFamily(
            "riality_board_rebuilds",
            "Boards and pages this API process rebuilt after a change",
            labels=["what"],
        )
        for what, n in sorted(data.board_rebuilds.items()):
            rebuilds.add_metric([what], n)
        yield rebuilds


@get("/metrics", include_in_schema=False)
async def metrics(
    request: Request, db_session: NamedDependency[AsyncSession], state: State
) -> Response[bytes]:
    wanted = state.settings.metrics_token
    sent = request.headers.get("authorization", "").encode()
    if wanted and not compare_digest(sent, f"Bearer {wanted}".encode()):
        raise Unauthenticated(
            "metrics: send the metrics token as 'Authorization: Bearer …' (RIALITY_METRICS_TOKEN)"
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(await snapshot(db_session, state.queue.redis, state.hub)))
    # The classic text format, which generate_latest writes; litestar adds "; charset=utf-8".
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")
