"""Password hashing (argon2) with a bound on how much of the machine it may take.

argon2 is deliberately expensive: 50 parallel sign-ins would take every core and stall every
other request. Hashes run on a small pool of their own threads (one by default: the other cores
stay with the API), and when too many are already waiting a sign-in is refused at once with a
503 and Retry-After instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.settings import Settings
from server.errors import ServiceUnavailable


class Passwords:
    def __init__(
        self, *, threads: int = 1, max_waiting: int = 32, hasher: PasswordHasher | None = None
    ) -> None:
        self.threads = threads
        self.max_waiting = max_waiting
        self._hasher = hasher or PasswordHasher()  # argon2-cffi's default: RFC 9106's low-memory profile
        self._pool: ThreadPoolExecutor | None = None  # made on first use: nothing happens at import
        self._lock = threading.Lock()
        self._pending = 0
        # Verified against when the username does not exist, so both failures take the same time.
        self._dummy: str | None = None

    async def _run(self, function: object, *args: str) -> object:
        with self._lock:
            if self._pending >= self.max_waiting + self.threads:
                raise ServiceUnavailable("too many sign-ins at once; try again in a second", retry_after_s=1)
            self._pending += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="argon2")
            pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)  # type: ignore[arg-type]
        finally:
            with self._lock:
                self._pending -= 1

    async def hash(self, password: str) -> str:
        return str(await self._run(self._hasher.hash, password))

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with no stored hash, as slow as a real check and False."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash("not-a-real-password")
            await self._run(self._quiet_verify, self._dummy, password)
            return False
        return bool(await self._run(self._quiet_verify, stored, password))

    def _quiet_verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    @classmethod
    def of(cls, settings: Settings) -> Passwords:
        """The hasher the settings ask for (their argon2 cost and thread count)."""
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        return cls(threads=settings.password_hash_threads, hasher=hasher)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
