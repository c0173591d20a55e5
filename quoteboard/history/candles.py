"""Candles from ticks: a pure function and an incremental builder, no I/O.

Times are the station's own (``CurrentPriceTime``, JST), as epoch seconds. A candle covers
``[start, start + seconds)`` on the JST clock; only buckets that hold a tick become candles, so the
lunch break and the night leave no empty candles and the morning and afternoon sessions join, as
trading charts draw them. Volume is the change of the station's cumulative ``TradingVolume``, which
restarts each day: a day's first tick counts from zero, so a day whose history starts late puts the
earlier volume in its first candle (the chart says where its history starts).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args

# JST is UTC+9 all year (no summer time), so bucketing is arithmetic on epoch seconds.
from quoteboard.kabu.records import JST_OFFSET, jst_day

__all__ = [
    "INTERVALS",
    "INTERVAL_SECONDS",
    "Candle",
    "CandleBuilder",
    "Interval",
    "Tick",
    "build_candles",
    "jst_day",
]

Interval = Literal["1m", "5m", "15m", "1h", "1d"]
INTERVALS: Final[tuple[Interval, ...]] = get_args(Interval)
INTERVAL_SECONDS: Final[dict[Interval, int]] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "1d": 86400,
}


@dataclass(frozen=True, slots=True)
class Tick:
    """One stored quote: the station's time (epoch seconds), the price and the cumulative volume."""

    time: float
    price: float
    volume: float | None = None  # the day's cumulative TradingVolume
    vwap: float | None = None  # the station's VWAP for the day so far
    bid: float | None = None
    ask: float | None = None


@dataclass(frozen=True, slots=True)
class Candle:
    """One bucket's open, high, low, close and volume, with the candle's own VWAP (None when no
    volume traded in it) and the station's day VWAP at its last tick."""

    start: float  # epoch seconds of the bucket's start (a JST minute, hour or day)
    interval: Interval
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None
    day_vwap: float | None
    ticks: int

    @property
    def end(self) -> float:
        return self.start + INTERVAL_SECONDS[self.interval]


def bucket_start(epoch: float, interval: Interval) -> float:
    """The start of the JST bucket of ``interval`` that holds ``epoch``."""
    seconds = INTERVAL_SECONDS[interval]
    return ((epoch + JST_OFFSET) // seconds) * seconds - JST_OFFSET


class CandleBuilder:
    """Candles of one symbol, one tick at a time: ``add`` returns the candle a tick closed, if any.

    Ticks must come in time order; a tick older than the forming candle is ignored (a late frame
    from a reconnect), but its cumulative volume still moves the baseline forward if it is larger.
    """

    __slots__ = (
        "_close",
        "_day",
        "_day_vwap",
        "_forming_start",
        "_high",
        "_last_volume",
        "_low",
        "_open",
        "_ticks",
        "_turnover",
        "_volume",
        "interval",
    )

    def __init__(self, interval: Interval) -> None:
        self.interval: Interval = interval
        self._forming_start: float | None = None
        self._day: int | None = None
        self._last_volume = 0.0
        self._open = self._high = self._low = self._close = 0.0
        self._volume = 0.0
        self._turnover = 0.0
        self._day_vwap: float | None = None
        self._ticks = 0

    @property
    def forming(self) -> Candle | None:
        """The candle still open (it moves with each tick), or None before the first tick."""
        if self._forming_start is None:
            return None
        return self._candle()

    def add(self, tick: Tick) -> Candle | None:
        start = bucket_start(tick.time, self.interval)
        day = jst_day(tick.time)
        if day != self._day:
            self._day = day
            self._last_volume = 0.0  # the station's cumulative volume restarts each day
        delta = 0.0
        if tick.volume is not None:
            delta = max(0.0, tick.volume - self._last_volume)
            self._last_volume = max(self._last_volume, tick.volume)
        if self._forming_start is not None and start < self._forming_start:
            return None
        closed = None
        if self._forming_start is None or start > self._forming_start:
            closed = self.close()
            self._forming_start = start
            self._open = self._high = self._low = tick.price
            self._volume = self._turnover = 0.0
            self._ticks = 0
        self._high = max(self._high, tick.price)
        self._low = min(self._low, tick.price)
        self._close = tick.price
        self._volume += delta
        self._turnover += delta * tick.price
        if tick.vwap is not None:
            self._day_vwap = tick.vwap
        self._ticks += 1
        return closed

    def resume(self, candle: Candle, day_volume: float) -> None:
        """Go on with ``candle`` (the last one of a history) as the forming candle, the day's
        cumulative volume so far being ``day_volume``: later ticks extend it rather than start a
        second candle of the same bucket, and count only the volume traded after the history."""
        if candle.interval != self.interval:
            raise ValueError(f"a {candle.interval} candle cannot go on as a {self.interval} one")
        self._forming_start = candle.start
        self._day = jst_day(candle.start)
        self._last_volume = day_volume
        self._open, self._high, self._low, self._close = candle.open, candle.high, candle.low, candle.close
        self._volume = candle.volume
        self._turnover = candle.volume * candle.vwap if candle.vwap is not None else 0.0
        self._day_vwap = candle.day_vwap
        self._ticks = candle.ticks

    def due(self, now: float) -> Candle | None:
        """Close the forming candle if its time is over at ``now`` (no tick needed to close it)."""
        if self._forming_start is None or now < self._forming_start + INTERVAL_SECONDS[self.interval]:
            return None
        return self.close()

    def close(self) -> Candle | None:
        """Close the forming candle now and return it (None if none is forming)."""
        if self._forming_start is None:
            return None
        candle = self._candle()
        self._forming_start = None
        return candle

    def _candle(self) -> Candle:
        assert self._forming_start is not None
        return Candle(
            start=self._forming_start,
            interval=self.interval,
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=self._volume,
            vwap=self._turnover / self._volume if self._volume > 0 else None,
            day_vwap=self._day_vwap,
            ticks=self._ticks,
        )


def build_candles(ticks: Iterable[Tick], interval: Interval) -> list[Candle]:
    """Every candle of ``ticks`` (one symbol, in time order), the last one possibly still forming."""
    return list(iter_candles(ticks, interval))


def iter_candles(ticks: Iterable[Tick], interval: Interval) -> Iterator[Candle]:
    builder = CandleBuilder(interval)
    for tick in ticks:
        closed = builder.add(tick)
        if closed is not None:
            yield closed
    last = builder.close()
    if last is not None:
        yield last
