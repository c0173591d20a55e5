"""Candles worked out by hand, from ticks in the station's time (JST)."""

from __future__ import annotations

from datetime import datetime

import pytest

from quoteboard.history.candles import CandleBuilder, Tick, build_candles, jst_day
from quoteboard.kabu.records import JST


def at(hhmmss: str, day: int = 3) -> float:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(2026, 12, day, h, m, s, tzinfo=JST).timestamp()


DAY = [
    Tick(at("09:00:00"), 100.0, volume=1000, vwap=100.0),
    Tick(at("09:00:30"), 102.0, volume=1500, vwap=100.7),
    Tick(at("09:00:59"), 99.0, volume=1600),
    Tick(at("09:01:10"), 101.0, volume=2600, vwap=100.4),
    Tick(at("11:29:50"), 105.0, volume=3000),
    Tick(at("12:30:00"), 104.0, volume=3500),
]


def test_one_minute_candles_by_hand() -> None:
    candles = build_candles(DAY, "1m")
    assert [c.start for c in candles] == [at("09:00:00"), at("09:01:00"), at("11:29:00"), at("12:30:00")]
    first = candles[0]
    assert (first.open, first.high, first.low, first.close) == (100.0, 102.0, 99.0, 99.0)
    assert first.volume == 1600  # the day's first tick counts from zero
    assert first.vwap == pytest.approx((1000 * 100 + 500 * 102 + 100 * 99) / 1600)
    assert first.day_vwap == 100.7
    assert first.ticks == 3
    assert candles[1].volume == 1000
    assert [c.volume for c in candles[2:]] == [400, 500]


def test_the_lunch_break_leaves_no_empty_candle() -> None:
    hours = build_candles(DAY, "1h")
    assert [c.start for c in hours] == [at("09:00:00"), at("11:00:00"), at("12:00:00")]
    day = build_candles(DAY, "1d")
    assert len(day) == 1
    assert (day[0].open, day[0].high, day[0].low, day[0].close, day[0].volume) == (100, 105, 99, 104, 3500)
    assert day[0].start == at("00:00:00")


def test_a_new_day_restarts_the_cumulative_volume() -> None:
    ticks = [Tick(at("15:00:00"), 100.0, volume=9000), Tick(at("09:00:00", day=4), 101.0, volume=200)]
    candles = build_candles(ticks, "1d")
    assert [c.volume for c in candles] == [9000, 200]
    assert jst_day(candles[1].start) == jst_day(candles[0].start) + 1


def test_the_builder_closes_a_candle_on_the_next_bucket_or_when_due() -> None:
    builder = CandleBuilder("5m")
    assert builder.add(Tick(at("09:00:00"), 100.0, volume=10)) is None
    assert builder.due(at("09:04:59")) is None
    assert builder.forming is not None and builder.forming.close == 100.0
    closed = builder.due(at("09:05:00"))
    assert closed is not None and closed.start == at("09:00:00")
    assert builder.forming is None
    assert builder.add(Tick(at("09:06:00"), 101.0, volume=30)) is None
    closed = builder.add(Tick(at("09:10:01"), 102.0, volume=35))
    assert closed is not None and closed.volume == 20 and closed.close == 101.0


def test_a_tick_older_than_the_forming_candle_is_ignored() -> None:
    builder = CandleBuilder("1m")
    builder.add(Tick(at("09:01:00"), 100.0, volume=10))
    assert builder.add(Tick(at("09:00:30"), 50.0, volume=5)) is None
    forming = builder.forming
    assert forming is not None and forming.low == 100.0 and forming.volume == 10


def test_a_resumed_builder_extends_the_last_history_candle_without_a_duplicate() -> None:
    history = build_candles(DAY[:2], "1m")  # the store held 09:00:00 and 09:00:30
    builder = CandleBuilder("1m")
    builder.resume(history[-1], day_volume=sum(c.volume for c in history))
    assert builder.add(Tick(at("09:00:59"), 99.0, volume=1600)) is None
    forming = builder.forming
    assert forming is not None and forming.start == history[-1].start
    assert (forming.open, forming.high, forming.low, forming.close) == (100.0, 102.0, 99.0, 99.0)
    assert forming.volume == 1600 and forming.ticks == 3  # only the 100 traded after the history
    assert forming.vwap == pytest.approx(build_candles(DAY[:3], "1m")[0].vwap)
    closed = builder.add(Tick(at("09:01:10"), 101.0, volume=2600))
    assert closed == build_candles(DAY[:3], "1m")[0]
    with pytest.raises(ValueError):
        CandleBuilder("5m").resume(history[-1], 0)


def test_a_quote_becomes_a_tick_in_the_station_time() -> None:
    from quoteboard.history.source import tick_of
    from quoteboard.kabu.protocol import Quote

    tick = tick_of(Quote("7203", last=2500.0, time="2026-12-03T09:00:01+09:00", volume=100.0, bid=2499.0))
    assert tick is not None and tick.time == at("09:00:01") and tick.volume == 100 and tick.bid == 2499
    bare = tick_of(Quote("7203", last=2500.0, time="2026-12-03T09:00:01"))
    assert bare is not None and bare.time == at("09:00:01")
    assert tick_of(Quote("7203", last=None, time="2026-12-03T09:00:01+09:00")) is None
    assert tick_of(Quote("7203", last=1.0, time="not a time")) is None
