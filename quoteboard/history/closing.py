"""Closed candles of many symbols from live quotes, closed on the station's clock.

``stream --candles`` prints them and a relay publishes them on NATS. A candle closes when a tick of
its symbol starts the next bucket, or when its time is over (:meth:`CandleCloser.due`, called on a
timer, since the next tick may be far away), or when the stream ends (:meth:`CandleCloser.close`).

The clock is the station's, not this machine's: a replay plays a past day and a test station may run
its day faster than real time. It is the latest station time any quote carried, moved on by this
machine's clock since that quote came.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from quoteboard.history.candles import Candle, CandleBuilder, Interval
from quoteboard.history.source import tick_of
from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["CandleCloser", "Closed"]


class Closed(NamedTuple):
    key: SymbolKey
    candle: Candle


class _Symbol:
    __slots__ = ("builders", "closed_until", "last")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.builders = [CandleBuilder(interval) for interval in intervals]
        self.closed_until = [float("-inf")] * len(self.builders)  # end of the last candle closed
        self.last: tuple[float, float | None] | None = None  # price and cumulative volume


class CandleCloser:
    """Candles of ``intervals`` for every symbol whose quotes are added; each closed one is returned
    once, in the order it closed."""

    def __init__(self, intervals: Iterable[Interval], clock: Callable[[], float] = time.monotonic) -> None:
        self.intervals = tuple(dict.fromkeys(intervals))
        self._clock = clock
        self._symbols: dict[SymbolKey, _Symbol] = {}
        self._station: float | None = None  # the latest station time seen
        self._seen_at = 0.0

    def now(self) -> float | None:
        """The station's time as this closer reckons it (None before the first tick)."""
        if self._station is None:
            return None
        return self._station + (self._clock() - self._seen_at)

    def add(self, quote: Quote) -> list[Closed]:
        """The candles ``quote`` closed. A quote whose price and cumulative volume did not change
        (only the book moved) is no tick, as the tick store counts them."""
        tick = tick_of(quote)
        if tick is None:
            return []
        state = self._symbols.get(quote.key)
        if state is None:
            state = self._symbols[quote.key] = _Symbol(self.intervals)
        seen = (tick.price, tick.volume)
        if seen == state.last:
            return []
        state.last = seen
        if self._station is None or tick.time > self._station:
            self._station, self._seen_at = tick.time, self._clock()
        closed = []
        for i, builder in enumerate(state.builders):
            # A bucket closed on the clock stays closed: a late tick must not open it twice.
            if tick.time < state.closed_until[i]:
                continue
            candle = builder.add(tick)
            if candle is not None:
                closed.append(Closed(quote.key, candle))
                state.closed_until[i] = candle.end
        return closed

    def due(self) -> list[Closed]:
        """The candles whose time is over by the station's clock."""
        now = self.now()
        if now is None:
            return []
        return self._closing(lambda builder: builder.due(now))

    def close(self) -> list[Closed]:
        """Every candle still forming, closed now (the stream ends)."""
        return self._closing(CandleBuilder.close)

    def _closing(self, how: Callable[[CandleBuilder], Candle | None]) -> list[Closed]:
        closed = []
        for key, state in self._symbols.items():
            for i, builder in enumerate(state.builders):
                candle = how(builder)
                if candle is not None:
                    closed.append(Closed(key, candle))
                    state.closed_until[i] = candle.end
        return closed
