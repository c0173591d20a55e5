"""Helpers for the candle tests: a candle line read strictly, and candles worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from quoteboard.history.candles import Tick
from quoteboard.history.wire import CandleLine
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["by_minute", "candle_line"]


def candle_line(text: str) -> CandleLine:
    """One line of ``stream --candles``, decoded strictly (no missing, unknown or mistyped key)."""
    line = msgspec.json.decode(text, type=CandleLine)
    start = datetime.fromisoformat(line.start)
    assert start.utcoffset() == timedelta(hours=9), f"start {line.start} is not JST"
    assert line.low <= min(line.open, line.close) <= max(line.open, line.close) <= line.high
    return line


def by_minute(ticks: list[tuple[SymbolKey, Tick | None]]) -> dict[tuple[SymbolKey, str], tuple[float, ...]]:
    """Independent of the builder: each symbol's distinct (price, volume) ticks grouped by their JST
    minute, as open, high, low, close and the rise of the cumulative volume over the minute before."""
    out: dict[tuple[SymbolKey, str], tuple[float, ...]] = {}
    last: dict[SymbolKey, tuple[float, float | None]] = {}
    cumulative: dict[SymbolKey, float] = {}
    for key, tick in ticks:
        if tick is None or last.get(key) == (tick.price, tick.volume):
            continue
        last[key] = (tick.price, tick.volume)
        minute = datetime.fromtimestamp(tick.time, JST).replace(second=0).isoformat()
        before = cumulative.get(key, 0.0)
        cumulative[key] = tick.volume or 0.0
        o, h, lo, _, volume = out.get((key, minute), (tick.price, tick.price, tick.price, 0, 0.0))
        volume += (tick.volume or 0.0) - before
        out[(key, minute)] = (o, max(h, tick.price), min(lo, tick.price), tick.price, volume)
    return out
