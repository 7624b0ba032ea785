"""The deployment's own counters, kept in Redis so every worker adds to one set and any API replica
serves them at /metrics (server.api.metrics). Written by the workers, read by the API."""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

EVALUATIONS = "riality:metrics:evaluations"  # hash: "kind|status|le=B" / "|sum" / "|count"
SANDBOX = "riality:metrics:sandbox"  # hash: outcome → runs
# Upload → result, in seconds: prediction files land in the first buckets, sandbox runs further on.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, math.inf)


def _le(bucket: float) -> str:
    return "+Inf" if math.isinf(bucket) else repr(bucket)


# One round trip and one command per finished submission: the histogram's cumulative buckets are
# incremented by Redis itself (a pipeline of ~17 HINCRBYs cost the worker more than its scoring's DB work).
_RECORD = """
for i = 4, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[1] .. '|sum', ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. '|count', 1)
if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
"""


async def record_evaluation(
    redis: Redis, *, kind: str, status: str, latency_s: float, sandbox_outcome: str | None
) -> None:
    """One finished submission: its latency into the histogram, its sandbox run's outcome if any.
    `redis` may be a pipeline, which queues the command for the caller's round trip."""
    key = f"{kind}|{status}"
    buckets = [f"{key}|le={_le(bucket)}" for bucket in BUCKETS if latency_s <= bucket]
    await redis.eval(_RECORD, 2, EVALUATIONS, SANDBOX, key, repr(latency_s), sandbox_outcome or "", *buckets)


@dataclass(frozen=True, slots=True)
class Histogram:
    kind: str
    status: str
    buckets: list[tuple[str, float]]  # (le, cumulative count)
    sum: float
    count: float


async def evaluation_histograms(redis: Redis) -> list[Histogram]:
    fields = {k.decode(): float(v) for k, v in (await redis.hgetall(EVALUATIONS)).items()}
    series = sorted({tuple(name.split("|")[:2]) for name in fields})
    return [
        Histogram(
            kind=kind,
            status=status,
            buckets=[(_le(b), fields.get(f"{kind}|{status}|le={_le(b)}", 0.0)) for b in BUCKETS],
            sum=fields.get(f"{kind}|{status}|sum", 0.0),
            count=fields.get(f"{kind}|{status}|count", 0.0),
        )
        for kind, status in series
    ]


async def sandbox_outcomes(redis: Redis) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in (await redis.hgetall(SANDBOX)).items()}
