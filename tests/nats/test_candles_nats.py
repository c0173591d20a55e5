"""The relay's closed candles on a real nats-server (``kabu.candle.<interval>.<ex>.<code>``), from a
real test station whose day runs fast, checked against the quotes it published."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import time
from typing import Any

import nats

from quoteboard.commands.candle_stream import stream_candles
from quoteboard.feeds.source import FeedSource
from quoteboard.history.source import tick_of
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.clock import StationClock, today_at
from tests.candle_support import by_minute, candle_line
from tests.nats.support import NatsServer, ask, names, symbols

KEY = SymbolKey("7203", 1)


async def test_the_relay_publishes_each_closed_candle_once_matching_its_quotes(nats_server: NatsServer):
    # A station minute every half second: a 1m candle closes several times a second.
    clock = StationClock(today_at(time(9, 1)), speed=120.0)
    candles: list[bytes] = []
    quotes: list[bytes] = []
    got = asyncio.Event()
    async with TestServer(seed=3, rate_limit=None, day=clock, rate=40) as station:
        source = FeedSource.kabu(station.base_url, "pw")
        target = NatsTarget.parse(nats_server.url)
        async with RelayServer(source, port=0, say=lambda line: None, nats=target):
            nc = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
            try:

                async def on_candle(msg: Any) -> None:
                    candles.append(msg.data)
                    if len(candles) >= 4:
                        got.set()

                async def on_quote(msg: Any) -> None:
                    quotes.append(msg.data)

                await nc.subscribe("kabu.candle.1m.1.7203", cb=on_candle)
                await nc.subscribe("kabu.quote.1.7203", cb=on_quote)
                five = await nc.subscribe("kabu.candle.5m.1.7203")
                assert names(await ask(nc, "kabu.ctl.register", symbols("c1", "7203"))) == ["7203@1"]
                await asyncio.wait_for(got.wait(), 30)
                fifth = candle_line((await five.next_msg(timeout=30)).data)  # 5m are published too
            finally:
                await nc.close()
    assert fifth.interval == "5m" and fifth.symbol == "7203"
    lines = [candle_line(data) for data in candles]
    ticks = []
    for data in quotes:
        record = json.loads(data)
        quote = Quote(symbol="7203", exchange=1, last=record["last"], volume=record["volume"])
        quote.time = record["time"]
        ticks.append((KEY, tick_of(quote)))
    expected = by_minute(ticks)
    starts = [line.start for line in lines]
    assert starts == sorted(set(starts))  # each minute once, in order
    for line in lines[:4]:
        assert (line.symbol, line.exchange, line.interval) == ("7203", 1, "1m")
        assert (line.open, line.high, line.low, line.close, line.volume) == expected[(KEY, line.start)]


async def test_stream_candles_behind_the_relay_and_on_nats_match_the_quotes_each_saw(nats_server: NatsServer):
    clock = StationClock(today_at(time(9, 1)), speed=120.0)
    async with TestServer(seed=4, rate_limit=None, day=clock, rate=40) as station:
        target = NatsTarget.parse(nats_server.url)
        async with RelayServer(FeedSource.kabu(station.base_url, "pw"), port=0, say=lambda _: None,
                               nats=target) as relay:  # fmt: skip
            for source in (FeedSource.kabu(relay.base_url, "pw"), FeedSource.of_nats(target)):
                async with source.open() as feed:
                    feed.registry.replace_watch([KEY])
                    assert await feed.start() == []
                    quotes: list[Quote] = []
                    feed.events.quote.subscribe(quotes.append)
                    out = io.StringIO()
                    assert await stream_candles(feed, ["1m"], out, io.StringIO(), count=3, duration=30) == 3
                expected = by_minute([(q.key, tick_of(q)) for q in quotes])
                for line in map(candle_line, out.getvalue().splitlines()):
                    assert (line.open, line.high, line.low, line.close, line.volume) == expected[
                        (KEY, line.start)
                    ], source.kind
