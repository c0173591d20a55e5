"""The once-a-day cache: one call per key and JST day, shared by concurrent askers."""

from __future__ import annotations

import asyncio

import pytest

from quoteboard.kabu.daily import DailyCache

DAY = 86400.0


async def test_one_call_per_key_and_day_shared_by_concurrent_askers() -> None:
    now = [1_764_720_000.0]  # 2025-12-03 09:00 JST
    cache: DailyCache[int] = DailyCache(clock=lambda: now[0])
    calls: list[str] = []

    async def fetch(value: int) -> int:
        calls.append("x")
        await asyncio.sleep(0.01)
        return value

    answers = await asyncio.gather(*(cache.get("7203", lambda: fetch(1)) for _ in range(5)))
    assert answers == [1] * 5 and len(calls) == 1
    assert await cache.get("7203", lambda: fetch(2)) == 1 and len(calls) == 1
    assert cache.peek("9433") is None
    now[0] += DAY  # the next JST day: asked again
    assert cache.peek("7203") is None
    assert await cache.get("7203", lambda: fetch(3)) == 3 and len(calls) == 2


async def test_a_failed_call_is_not_kept() -> None:
    cache: DailyCache[int] = DailyCache()

    async def fail() -> int:
        raise RuntimeError("station away")

    async def ok() -> int:
        return 7

    with pytest.raises(RuntimeError):
        await cache.get("k", fail)
    assert await cache.get("k", ok) == 7
