"""The bounded password hasher: right answers, and a full queue refused at once instead of waiting."""

from __future__ import annotations

import asyncio

from server.errors import ServiceUnavailable
from server.services.passwords import Passwords


async def test_hash_and_verify() -> None:
    passwords = Passwords()
    try:
        stored = await passwords.hash("a-long-password")
        assert await passwords.verify(stored, "a-long-password")
        assert not await passwords.verify(stored, "another-password")
        assert not await passwords.verify(None, "a-long-password")  # unknown user: as slow, never true
        assert not await passwords.verify("not-a-hash", "a-long-password")
    finally:
        passwords.close()


async def test_a_full_queue_is_refused_at_once_with_retry_after() -> None:
    passwords = Passwords(threads=1, max_waiting=1)
    try:
        results = await asyncio.gather(
            *(passwords.hash("a-long-password") for _ in range(6)), return_exceptions=True
        )
    finally:
        passwords.close()
    refused = [r for r in results if isinstance(r, ServiceUnavailable)]
    assert len(refused) == 4  # one hashing, one waiting, the rest turned away
    assert all(r.retry_after_s == 1 for r in refused)
    assert sum(isinstance(r, str) for r in results) == 2


async def test_a_deployment_hashes_at_rfc_9106s_cost_and_the_setting_changes_it() -> None:
    """The tests hash cheaply (conftest lowers the cost); a deployment's defaults are the real cost."""
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from core.settings import Settings

    defaults = Settings.from_env({})
    assert (defaults.argon2_time_cost, defaults.argon2_memory_kib, defaults.argon2_parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )
    for settings, cost in (
        (defaults, "$m=65536,t=3,p=4$"),
        (Settings.from_env({"RIALITY_ARGON2_MEMORY_KIB": "8", "RIALITY_ARGON2_TIME_COST": "1",
                            "RIALITY_ARGON2_PARALLELISM": "1"}), "$m=8,t=1,p=1$"),
    ):  # fmt: skip
        passwords = Passwords.of(settings)
        try:
            stored = await passwords.hash("a-long-password")
        finally:
            passwords.close()
        assert cost in stored
        again = Settings.from_env(settings.to_env())  # what a child process (the API, a worker) reads
        assert (again.argon2_time_cost, again.argon2_memory_kib, again.argon2_parallelism) == (
            settings.argon2_time_cost,
            settings.argon2_memory_kib,
            settings.argon2_parallelism,
        )
