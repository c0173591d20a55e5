"""The stall watchdog in a real KabuFeed against the real test station on loopback: a stalled PUSH
socket (open, nothing pushed, /board moving on) is reopened and quotes flow again; a market that is
not moving (a recording played to its end) is quiet and keeps its socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.replay import Replay
from tests.record_support import record

TOYOTA = SymbolKey("7203", 1)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_stalled_socket_is_said_stalled_reopened_and_quotes_flow_again(server: TestServer) -> None:
    feed = KabuFeed(server.base_url, "pw", stall_after=0.5)
    states: list[FeedStatus] = []
    quotes: list[Quote] = []
    feed.events.status.subscribe(states.append)
    feed.events.quote.subscribe(quotes.append)
    await feed.register([TOYOTA])
    runner = asyncio.create_task(feed.run())
    try:
        await until(lambda: len(quotes) >= 2)
        server.kabu.push.stall(60)  # this socket only: a new one is served as usual
        await until(lambda: any(s.state == "stalled" for s in states))
        stalled = next(s for s in states if s.state == "stalled")
        assert "7203@1" in stalled.detail
        await until(lambda: feed.connections == 2 and server.kabu.push.opened == 2)
        flowing = len(quotes)
        await until(lambda: len(quotes) >= flowing + 3)
        assert feed.status.state == "live"
        assert [s.state for s in states][-1] == "live"
    finally:
        await feed.close()
        await asyncio.wait_for(runner, 5)


def frame(price: float, at: str) -> str:
    return json.dumps({"Symbol": "7203", "Exchange": 1, "CurrentPrice": price,
                       "CurrentPriceTime": at, "TradingVolume": 1000.0, "TradingVolumeTime": at})  # fmt: skip


async def test_a_market_not_moving_is_quiet_and_keeps_its_socket(tmp_path: Path) -> None:
    # A recording played to its end: the socket stays open, nothing more is pushed, and /board
    # answers the last frame pushed (as the station does over lunch and after the close).
    frames = [(100.0 + i / 10, frame(2000.0 + i, f"2026-03-02T11:29:5{i}+09:00")) for i in range(5)]
    path = record(tmp_path / "day.ndjson", frames)
    async with TestServer(replay=Replay.open(path), rate_limit=None) as station:
        feed = KabuFeed(station.base_url, "pw", stall_after=0.3)
        states: list[FeedStatus] = []
        quotes: list[Quote] = []
        feed.events.status.subscribe(states.append)
        feed.events.quote.subscribe(quotes.append)
        await feed.register([TOYOTA])
        runner = asyncio.create_task(feed.run())
        try:
            await until(lambda: len(quotes) == 5 and feed.status.state == "quiet")
            assert "no newer trade" in feed.status.detail
            probes = feed.watchdog.probes
            await until(lambda: feed.watchdog.probes >= probes + 3)  # asked again and again: still quiet
            assert feed.status.state == "quiet"
            assert feed.connections == 1 and station.kabu.push.opened == 1
            assert "stalled" not in [s.state for s in states]
        finally:
            await feed.close()
            await asyncio.wait_for(runner, 5)
