"""A relay on a real test station whose day runs fast, writing the real tick store and serving it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

from quoteboard.feeds.source import FeedSource
from quoteboard.history.source import History
from quoteboard.history.store import StoreCandles
from quoteboard.history.writer import TickWriter
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.clock import StationClock, today_at

PASSWORD = "station-secret-pw"
KEY = SymbolKey("7203", 1)


@contextlib.asynccontextmanager
async def relay_with_history(
    store: Path, *, nats: str | None = None, history: bool = True
) -> AsyncIterator[RelayServer]:
    """The relay on a station whose minute lasts half a second, its quotes written to ``store`` and
    its ``/relay/candles`` read from it (``history=False``: a relay that keeps none)."""
    clock = StationClock(today_at(time(9, 1)), speed=120.0)
    lines: list[str] = []
    async with TestServer(seed=2, rate_limit=None, password=PASSWORD, day=clock, rate=40) as station:
        source = FeedSource.kabu(station.base_url, PASSWORD)
        target = NatsTarget.parse(nats) if nats is not None else None
        async with RelayServer(source, port=0, say=lines.append, nats=target) as relay:
            assert relay.relay is not None and relay.feed is not None
            writer = TickWriter(store, on_error=lines.append, interval=0.1)
            writer.attach(relay.feed.events.quote)
            relay.writer = writer  # type: ignore[attr-defined]
            relay.lines = lines  # type: ignore[attr-defined]
            if history:
                relay.relay.history = StoreCandles(store)
            try:
                yield relay
            finally:
                await writer.aclose()


async def day_of_candles(relay: RelayServer, store: Path, least: int = 3) -> History:
    """Once the store holds ``least`` 1m candles of :data:`KEY`, stop writing: the day as it is kept."""
    source = StoreCandles(store)
    async with asyncio.timeout(30):
        while len((await source.candles(KEY, "1m")).candles) < least:
            await asyncio.sleep(0.1)
    await relay.writer.aclose()  # type: ignore[attr-defined]
    return await source.candles(KEY, "1m")
