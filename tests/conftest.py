"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from quoteboard.server import TestServer


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    """The real test server (echo + Kabu station) on a free loopback port, deterministic market,
    no REST rate limit. One per test."""
    async with TestServer(seed=1, rate_limit=None) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _tick_store_apart(monkeypatch, tmp_path_factory) -> None:
    """Every tick store a test writes (its own process or a command it runs) goes to a directory of
    its own, never the user's data directory."""
    monkeypatch.setenv("QUOTEBOARD_DATA_DIR", str(tmp_path_factory.mktemp("data")))
