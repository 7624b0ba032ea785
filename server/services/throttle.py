"""Counting attempts per key in fixed windows on Redis, shared by every API process.

Used for what must not be tried without end: failed sign-ins per account and per client address,
and registrations per address. A Redis outage lets attempts through (logged): sign-in must not
depend on it more than the rest of the API does.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.errors import RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    limit: int  # attempts allowed in one window
    window_s: int
    message: str  # what the user is told, with {minutes} to wait

    def key(self, subject: str) -> str:
        # Hashed: usernames and addresses are not kept readable in Redis.
        return f"riality:throttle:{self.name}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"


class Throttle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def check(self, rule: Rule, subject: str) -> None:
        """Refuse (429 with Retry-After) when `subject` has used up its attempts in this window."""
        try:
            key = rule.key(subject)
            used = await self.redis.get(key)
            if used is None or int(used) < rule.limit:
                return
            ttl = await self.redis.ttl(key)
        except RedisError as exc:
            log.warning("throttle %s: Redis unavailable (%s); letting the attempt through", rule.name, exc)
            return
        wait_s = max(1, ttl if ttl > 0 else rule.window_s)
        raise RateLimited(rule.message.format(minutes=max(1, -(-wait_s // 60))), retry_after_s=wait_s)

    async def hit(self, rule: Rule, subject: str) -> None:
        """Count one attempt; the window starts with the first."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                key = rule.key(subject)
                await pipe.incr(key).expire(key, rule.window_s, nx=True).execute()
        except RedisError as exc:
            log.warning("throttle %s: Redis unavailable (%s); attempt not counted", rule.name, exc)

    async def take(self, rule: Rule, subject: str) -> None:
        """Check, then count: for attempts that count whether or not they succeed."""
        await self.check(rule, subject)
        await self.hit(rule, subject)

    async def clear(self, rule: Rule, subject: str) -> None:
        try:
            await self.redis.delete(rule.key(subject))
        except RedisError as exc:
            log.warning("throttle %s: Redis unavailable (%s)", rule.name, exc)

    async def close(self) -> None:
        await self.redis.aclose()
