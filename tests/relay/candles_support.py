"""A relay on a real test station whose day runs fast, writing the real tick store and serving it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

from quoteboard.feeds.source import FeedSource
from quoteboard.history.keeping import HistoryOptions
from quoteboard.history.source import History
from quoteboard.history.store import STATION_FILE, StoreCandles
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
    """The relay on a station whose minute lasts half a second, writing its tick store in ``store``'s
    directory (``store`` is the station's file there) and serving it on ``/relay/candles``
    (``history=False``: a relay started with --no-history)."""
    assert store.name == STATION_FILE
    clock = StationClock(today_at(time(9, 1)), speed=120.0)
    lines: list[str] = []
    options = HistoryOptions(directory=store.parent) if history else None
    async with TestServer(seed=2, rate_limit=None, password=PASSWORD, day=clock, rate=40) as station:
        source = FeedSource.kabu(station.base_url, PASSWORD)
        target = NatsTarget.parse(nats) if nats is not None else None
        async with RelayServer(source, port=0, say=lines.append, nats=target, history=options) as relay:
            relay.lines = lines  # type: ignore[attr-defined]
            yield relay


async def day_of_candles(relay: RelayServer, store: Path, least: int = 3) -> History:
    """Once the store holds ``least`` 1m candles of :data:`KEY`, stop the relay's writer: the day as
    it is kept from then on."""
    source = StoreCandles(store)
    async with asyncio.timeout(30):
        while len((await source.candles(KEY, "1m")).candles) < least:
            await asyncio.sleep(0.1)
    await relay._keeper.stop()  # what a relay does as it stops: commit, then write no more
    return await source.candles(KEY, "1m")
