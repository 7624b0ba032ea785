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


# One sign-in attempt, checked and counted in one step (concurrent guesses cannot all pass a check
# made before any is counted). KEYS: the account's failures, this address's failures on the account,
# the address's failures on any account. ARGV: the account's limit, its ceiling over every address,
# the address's limit, the window. Past the account's limit only addresses that have not failed on it
# may try (its owner elsewhere is not locked out by a guesser), until the ceiling. Returns 0 and
# counts the attempt as a failure (settled later), or 1 (the address) / 2 (the account) and a TTL.
_RESERVE = """
local address = tonumber(redis.call('GET', KEYS[3]) or '0')
if address >= tonumber(ARGV[3]) then return {1, redis.call('TTL', KEYS[3])} end
local account = tonumber(redis.call('GET', KEYS[1]) or '0')
local pair = tonumber(redis.call('GET', KEYS[2]) or '0')
if account >= tonumber(ARGV[2]) or (account >= tonumber(ARGV[1]) and pair > 0) then
  return {2, redis.call('TTL', KEYS[1])}
end
for i = 1, 3 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[4], 'NX')
end
return {0, 0}
"""
# How many more failures than its limit an account takes, from addresses that have not failed on it.
CEILING_FACTOR = 10


@dataclass(frozen=True, slots=True)
class Reserved:
    """A sign-in attempt counted as a failure until `Throttle.settle` says it succeeded."""

    keys: tuple[str, str, str]  # the account's, the pair's, the address's counters
    counted: bool  # False when Redis was unavailable: nothing to settle


class Throttle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, account: Rule, address: Rule, account_key: str, address_key: str) -> Reserved:
        """Check and count one sign-in attempt at once (429 past a limit); the caller settles it."""
        keys = (
            account.key(account_key),
            account.key(f"{account_key}\0{address_key}"),
            address.key(address_key),
        )
        try:
            refused, ttl = await self._reserve(
                keys=list(keys),
                args=[account.limit, account.limit * CEILING_FACTOR, address.limit, account.window_s],
            )
        except RedisError as exc:
            log.warning("throttle %s: Redis unavailable (%s); letting the attempt through", account.name, exc)
            return Reserved(keys, counted=False)
        if refused:
            rule = address if refused == 1 else account
            wait_s = max(1, ttl if ttl > 0 else rule.window_s)
            raise RateLimited(rule.message.format(minutes=max(1, -(-wait_s // 60))), retry_after_s=wait_s)
        return Reserved(keys, counted=True)

    async def settle(self, reserved: Reserved) -> None:
        """The attempt succeeded: the account's failures are forgiven, the address's attempt handed back."""
        if not reserved.counted:
            return
        account, pair, address = reserved.keys
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.delete(account, pair).decr(address).execute()
        except RedisError as exc:
            log.warning("throttle: Redis unavailable (%s); a successful sign-in not settled", exc)

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

    async def close(self) -> None:
        await self.redis.aclose()
