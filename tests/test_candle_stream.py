"""``quoteboard stream --candles``: closed candles as NDJSON, from a real test station and a replay."""

from __future__ import annotations

import io
import json
from datetime import datetime, time

import pytest

from quoteboard.commands.candle_stream import stream_candles
from quoteboard.feeds.source import FeedSource
from quoteboard.history.source import tick_of
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.clock import StationClock, today_at
from tests.candle_support import by_minute, candle_line
from tests.record_support import record
from tests.test_cli import quoteboard

KEYS = [SymbolKey("7203", 1), SymbolKey("6758", 1)]


async def test_candles_of_a_live_station_close_on_its_clock_and_match_its_quotes():
    # A station whose day runs 120 times faster: a station minute every half second.
    clock = StationClock(today_at(time(9, 1)), speed=120.0)
    out = io.StringIO()
    quotes: list[Quote] = []
    async with (
        TestServer(seed=1, rate_limit=None, day=clock, rate=40) as srv,
        FeedSource.kabu(srv.base_url, "pw").open() as feed,
    ):
        feed.registry.replace_watch(KEYS)
        assert await feed.start() == []
        feed.events.quote.subscribe(quotes.append)
        written = await stream_candles(feed, ["1m"], out, io.StringIO(), count=6, duration=30)
    assert written == 6
    lines = [candle_line(text) for text in out.getvalue().splitlines()]
    assert len(lines) == 6
    # Closed before the stream ended (by the next bucket's tick or the station's clock): each is
    # whole, as an independent grouping of the same quotes by minute says.
    expected = by_minute([(q.key, tick_of(q)) for q in quotes])
    previous: dict[SymbolKey, float] = {}
    for line in lines:
        key = SymbolKey(line.symbol, line.exchange)
        assert line.interval == "1m" and key in KEYS
        assert (line.open, line.high, line.low, line.close, line.volume) == expected[(key, line.start)]
        start = datetime.fromisoformat(line.start).timestamp()
        assert start % 60 == 0
        assert start > previous.get(key, 0.0)  # one candle per bucket, in order
        previous[key] = start
        assert line.ticks >= 1
    assert {line.symbol for line in lines} == {"7203", "6758"}


def _frame(code: str, price: float, volume: float, at: str) -> str:
    return json.dumps(
        {
            "Symbol": code,
            "Exchange": 1,
            "CurrentPrice": price,
            "CurrentPriceTime": f"2026-12-03T{at}+09:00",
            "TradingVolume": volume,
            "VWAP": price,
        }
    )


def test_stream_candles_of_a_replay_prints_each_minute_once_and_the_last_at_the_end(tmp_path):
    frames = [
        _frame("7203", 2500, 1000, "09:00:05"),
        _frame("7203", 2510, 1500, "09:00:40"),
        _frame("7203", 2510, 1500, "09:00:41"),  # the book moved, not the price: no tick
        _frame("7203", 2490, 1800, "09:00:59"),
        _frame("7203", 2495, 2000, "09:01:10"),
        _frame("7203", 2505, 2600, "09:03:00"),
    ]
    rec = record(tmp_path / "day.ndjson", [(1000.0 + i * 0.01, f) for i, f in enumerate(frames)])
    result = quoteboard("stream", "--replay", str(rec), "--candles", "1m")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [candle_line(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"symbol": "7203", "exchange": 1, "interval": "1m", "start": "2026-12-03T09:00:00+09:00",
         "open": 2500.0, "high": 2510.0, "low": 2490.0, "close": 2490.0, "volume": 1800.0,
         "vwap": (1000 * 2500 + 500 * 2510 + 300 * 2490) / 1800, "day_vwap": 2490.0, "ticks": 3},
        {"symbol": "7203", "exchange": 1, "interval": "1m", "start": "2026-12-03T09:01:00+09:00",
         "open": 2495.0, "high": 2495.0, "low": 2495.0, "close": 2495.0, "volume": 200.0,
         "vwap": 2495.0, "day_vwap": 2495.0, "ticks": 1},
        {"symbol": "7203", "exchange": 1, "interval": "1m", "start": "2026-12-03T09:03:00+09:00",
         "open": 2505.0, "high": 2505.0, "low": 2505.0, "close": 2505.0, "volume": 600.0,
         "vwap": 2505.0, "day_vwap": 2505.0, "ticks": 1},
    ]  # fmt: skip
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("other", [["--alerts"], ["--events"]])
def test_stream_candles_with_alerts_or_events_is_one_usage_line(other):
    result = quoteboard("stream", "--demo", "--candles", "1m", *other)
    assert result.returncode == 2
    assert "--candles prints candles alone" in result.stderr and "Traceback" not in result.stderr
