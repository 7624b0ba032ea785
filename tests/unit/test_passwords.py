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
