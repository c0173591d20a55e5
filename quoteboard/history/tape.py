"""The board's own short memory of the day: one-minute candles of every quote it saw, no I/O.

When no tick store or served history answers for a chart (``feed_control.history`` is None), the
chart reads this :class:`SessionTape` instead, so it still opens full from the board's first tick.
One-minute candles are kept (a day is a few hundred a symbol) and regrouped into longer ones on
demand: a 5-minute candle is its five minutes' first open, highest high, lowest low, last close.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from quoteboard.history.candles import (
    Candle,
    CandleBuilder,
    Interval,
    Tick,
    bucket_start,
    build_candles,
    jst_day,
)
from quoteboard.history.source import History
from quoteboard.kabu.protocol import SymbolKey

__all__ = ["SessionTape", "regroup"]


def regroup(candles: Iterable[Candle], interval: Interval) -> list[Candle]:
    """``candles`` (in time order, each within one bucket of ``interval``) merged into ``interval``'s."""
    merged: list[Candle] = []
    for candle in candles:
        start = bucket_start(candle.start, interval)
        last = merged[-1] if merged else None
        if last is None or last.start != start:
            merged.append(
                Candle(
                    start, interval, candle.open, candle.high, candle.low, candle.close, candle.volume,
                    candle.vwap, candle.day_vwap, candle.ticks,
                )
            )  # fmt: skip
            continue
        volume = last.volume + candle.volume
        turnover = (last.vwap or 0.0) * last.volume + (candle.vwap or 0.0) * candle.volume
        merged[-1] = Candle(
            start, interval, last.open, max(last.high, candle.high), min(last.low, candle.low),
            candle.close, volume, turnover / volume if volume > 0 else None,
            candle.day_vwap if candle.day_vwap is not None else last.day_vwap, last.ticks + candle.ticks,
        )  # fmt: skip
    return merged


class _Symbol:
    __slots__ = ("builder", "closed", "since")

    def __init__(self) -> None:
        self.builder = CandleBuilder("1m")
        self.closed: list[Candle] = []
        self.since: float | None = None


class SessionTape:
    """One-minute candles of each symbol's quotes since the board started (the latest JST day's)."""

    def __init__(self) -> None:
        self._symbols: dict[SymbolKey, _Symbol] = {}

    def add(self, key: SymbolKey, tick: Tick) -> None:
        symbol = self._symbols.get(key)
        if symbol is None:
            symbol = self._symbols[key] = _Symbol()
        day = jst_day(tick.time)
        if symbol.since is None or day > jst_day(symbol.since):
            symbol.since = tick.time  # a new day: yesterday's candles go
            symbol.closed.clear()
        closed = symbol.builder.add(tick)
        if closed is not None and jst_day(closed.start) == day:
            symbol.closed.append(closed)

    def prepend(self, key: SymbolKey, ticks: Sequence[Tick]) -> None:
        """``ticks`` from before the tape's first tick of ``key`` (the demo market's morning).

        The tape's first candle counted the day's volume from zero; what the earlier ticks traded is
        taken off it, so that the day's volume is counted once."""
        if not ticks:
            return
        symbol = self._symbols.get(key)
        earlier = build_candles(ticks, "1m")
        if symbol is None or symbol.since is None:
            symbol = self._symbols[key] = _Symbol()
            symbol.closed = earlier[:-1]
            symbol.builder.resume(earlier[-1], ticks[-1].volume or 0.0)
            symbol.since = ticks[0].time
            return
        later = self.minutes(key)
        if jst_day(ticks[-1].time) != jst_day(later[0].start) or ticks[-1].time > symbol.since:
            return  # not the same day's, or not earlier: nothing to join
        traded = ticks[-1].volume or 0.0
        first = later[0]
        cut = max(0.0, first.volume - traded)
        later[0] = Candle(
            first.start, first.interval, first.open, first.high, first.low, first.close, cut,
            first.vwap if cut > 0 else None, first.day_vwap, first.ticks,
        )  # fmt: skip
        joined = regroup([*earlier, *later], "1m")
        symbol.closed = joined[:-1]
        forming = symbol.builder.forming
        if forming is not None:
            symbol.builder.resume(joined[-1], sum(candle.volume for candle in joined))
        else:
            symbol.closed = joined
        symbol.since = ticks[0].time

    def minutes(self, key: SymbolKey) -> list[Candle]:
        """``key``'s one-minute candles, the forming one last."""
        symbol = self._symbols.get(key)
        if symbol is None:
            return []
        forming = symbol.builder.forming
        return [*symbol.closed, forming] if forming is not None else list(symbol.closed)

    def since(self, key: SymbolKey) -> float | None:
        symbol = self._symbols.get(key)
        return symbol.since if symbol is not None else None

    def clear(self) -> None:
        """Forget every symbol (another feed's prices must not pass for this one's)."""
        self._symbols.clear()

    async def candles(self, key: SymbolKey, interval: Interval, day: date | None = None) -> History:
        """The :class:`~quoteboard.history.source.CandleSource` answer: the latest day held (``day`` is
        not looked at: the tape holds one day)."""
        return History(key, interval, regroup(self.minutes(key), interval), self.since(key))
