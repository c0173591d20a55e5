"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from quoteboard.server import TestServer


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    """The real test server (echo + Kabu station) on a free loopback port, deterministic market,
    no REST rate limit. One per test."""
    async with TestServer(seed=1, rate_limit=None) as srv:
        yield srv
