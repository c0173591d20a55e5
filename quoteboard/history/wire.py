"""A candle as JSON: one encoding for ``stream --candles``, ``GET /relay/candles`` and NATS.

:func:`candle_record` is the NDJSON line of one closed candle (README's "NDJSON lines"): the symbol's
code and exchange as a quote line has them, the interval, ``start`` in ISO 8601 JST, open, high, low,
close, volume, the candle's own VWAP (None when nothing traded in it), the station's day VWAP at its
last tick and the count of its ticks. :func:`history_body` is a day's candles as the relay answers
them (``/relay/candles``, ``kabu.ctl.candles``), with ``since``, the time of the day's first tick held
(ISO 8601 JST to the millisecond); :func:`decode_history` reads that answer back.
Pure functions: no I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

import msgspec

from quoteboard.history.candles import Candle, Interval, jst_day
from quoteboard.history.source import History
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["CandleLine", "candle_record", "decode_history", "encode_candle", "history_body"]

_encoder: Final = msgspec.json.Encoder()


class CandleLine(msgspec.Struct, forbid_unknown_fields=True):
    """A :func:`candle_record` as it is read back (strictly: a number as text is refused)."""

    symbol: str
    exchange: int
    interval: Interval
    start: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None
    day_vwap: float | None
    ticks: int


class HistoryBody(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    exchange: int
    interval: Interval
    date: str | None
    since: str | None
    candles: list[CandleLine]


def _iso(epoch: float, timespec: str = "seconds") -> str:
    return datetime.fromtimestamp(epoch, JST).isoformat(timespec=timespec)


def _epoch(text: str) -> float:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text} has no UTC offset")
    return when.timestamp()


def candle_record(key: SymbolKey, candle: Candle) -> dict[str, object]:
    """The JSON object of one candle of ``key``."""
    return {
        "symbol": key.code,
        "exchange": key.exchange,
        "interval": candle.interval,
        "start": _iso(candle.start),
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
        "vwap": candle.vwap,
        "day_vwap": candle.day_vwap,
        "ticks": candle.ticks,
    }


def encode_candle(key: SymbolKey, candle: Candle) -> bytes:
    return _encoder.encode(candle_record(key, candle))


def history_body(history: History, day: date | None = None) -> dict[str, object]:
    """The relay's answer for ``history``: ``date`` is the JST day asked for, else the day the
    candles are of (None when there are none)."""
    if day is None and history.candles:
        day = _day_of(history.candles[0].start)
    return {
        "symbol": history.key.code,
        "exchange": history.key.exchange,
        "interval": history.interval,
        "date": day.isoformat() if day is not None else None,
        "since": _iso(history.since, "milliseconds") if history.since is not None else None,
        "candles": [candle_record(history.key, candle) for candle in history.candles],
    }


def decode_history(data: bytes, key: SymbolKey, interval: Interval) -> History:
    """The :class:`History` in a :func:`history_body` answer; ValueError, in words, for anything
    else (another symbol's or interval's candles included)."""
    try:
        body = msgspec.json.decode(data, type=HistoryBody)
        if (body.symbol, body.exchange) != key or body.interval != interval:
            raise ValueError(f"the answer is for {body.symbol}@{body.exchange} {body.interval}")
        candles = [_candle(line) for line in body.candles]
        since = _epoch(body.since) if body.since is not None else None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValueError(f"the candles answer is not the relay's: {exc}") from None
    return History(key=key, interval=interval, candles=candles, since=since)


def _candle(line: CandleLine) -> Candle:
    return Candle(
        start=_epoch(line.start),
        interval=line.interval,
        open=line.open,
        high=line.high,
        low=line.low,
        close=line.close,
        volume=line.volume,
        vwap=line.vwap,
        day_vwap=line.day_vwap,
        ticks=line.ticks,
    )


def _day_of(epoch: float) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + jst_day(epoch))
