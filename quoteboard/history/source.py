"""Where a chart's history comes from, and a quote as a stored tick.

A board reads its history from the local tick store when it holds the station's socket itself,
from the relay's ``/relay/candles`` behind a relay, and with ``kabu.ctl.candles`` on NATS: each is
a :class:`CandleSource`, chosen by whoever knows the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from quoteboard.history.candles import Candle, Interval, Tick
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["CandleSource", "History", "station_time", "tick_of"]


@dataclass(frozen=True, slots=True)
class History:
    """A day's candles of one symbol, and when the day's ticks held start (None: none held)."""

    key: SymbolKey
    interval: Interval
    candles: list[Candle]
    since: float | None


class CandleSource(Protocol):
    async def candles(self, key: SymbolKey, interval: Interval, day: date | None = None) -> History:
        """The candles of ``key`` on the JST ``day`` (None: the latest day held)."""
        ...


def tick_of(quote: Quote) -> Tick | None:
    """The tick a quote stores: None without a price or the station's time for it (an index
    before the open, a symbol just registered), or with a time that is not ISO 8601."""
    if quote.last is None or quote.time is None:
        return None
    when = station_time(quote.time)
    if when is None:
        return None
    return Tick(
        time=when,
        price=quote.last,
        volume=quote.volume,
        vwap=quote.vwap,
        bid=quote.bid,
        ask=quote.ask,
    )


def station_time(text: str) -> float | None:
    """A station's time (ISO 8601) as epoch seconds, None if it is not one."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:  # Kabu's times carry +09:00; a bare one is JST all the same
        when = when.replace(tzinfo=JST)
    return when.timestamp()
