"""CandleCloser: candles of many symbols closed by the next bucket's tick or the station's clock."""

from __future__ import annotations

from datetime import datetime

from quoteboard.history.closing import CandleCloser
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import JST

NINE = datetime(2026, 12, 3, 9, 0, tzinfo=JST).timestamp()


class Hand:
    """This machine's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def quote(code: str, price: float, volume: float, at: str) -> Quote:
    return Quote(symbol=code, exchange=1, last=price, volume=volume, time=f"2026-12-03T{at}+09:00")


def test_a_candle_closes_when_the_station_clock_passes_its_end_not_before():
    hand = Hand()
    closer = CandleCloser(["1m"], clock=hand)
    assert closer.add(quote("7203", 2500, 100, "09:00:50")) == []
    hand.now = 9.0  # station 09:00:59
    assert closer.due() == []
    hand.now = 10.0  # station 09:01:00: the minute is over
    [(key, candle)] = closer.due()
    assert key == SymbolKey("7203", 1) and candle.start == NINE and candle.close == 2500
    assert closer.due() == []  # closed once


def test_the_station_clock_is_the_latest_time_any_symbol_carried():
    hand = Hand()
    closer = CandleCloser(["1m"], clock=hand)
    closer.add(quote("7203", 2500, 100, "09:00:10"))
    closer.add(quote("6758", 3000, 100, "09:01:30"))  # another symbol says it is 09:01:30
    assert [key.code for key, _ in closer.due()] == ["7203"]


def test_a_late_tick_does_not_open_a_bucket_closed_on_the_clock():
    hand = Hand()
    closer = CandleCloser(["1m"], clock=hand)
    closer.add(quote("7203", 2500, 100, "09:00:10"))
    hand.now = 60.0
    assert len(closer.due()) == 1
    assert closer.add(quote("7203", 2490, 150, "09:00:55")) == []  # came after its minute closed
    assert closer.close() == []  # nothing forming: no second 09:00 candle


def test_a_quote_whose_price_and_volume_did_not_change_is_no_tick():
    closer = CandleCloser(["1m", "5m"])
    closer.add(quote("7203", 2500, 100, "09:00:10"))
    closer.add(quote("7203", 2500, 100, "09:00:20"))  # only the book moved
    closed = closer.close()
    assert [(c.interval, c.ticks) for _, c in closed] == [("1m", 1), ("5m", 1)]


def test_a_tick_in_a_later_bucket_closes_each_interval_on_its_own():
    closer = CandleCloser(["1m", "5m"])
    closer.add(quote("7203", 2500, 100, "09:00:10"))
    closed = closer.add(quote("7203", 2510, 300, "09:01:05"))
    assert [(c.interval, c.start, c.volume) for _, c in closed] == [("1m", NINE, 100.0)]
    [(_, five)] = [c for c in closer.close() if c.candle.interval == "5m"]
    assert (five.open, five.close, five.volume, five.ticks) == (2500, 2510, 300.0, 2)
