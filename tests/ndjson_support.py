"""The one schema of every NDJSON line quoteboard writes (README's "NDJSON lines"), for the tests of
``stream`` (quote lines), ``stream --alerts`` (alert lines) and ``stream --events`` (event lines):
:func:`quote_line`, :func:`alert_line` and :func:`event_line` decode a line, failing on a missing or
unknown key, a value of the wrong type, or a shared key (symbol, exchange, name, time, received_at)
that breaks the common conventions. msgspec decodes strictly: a number written as text, or a bool,
is refused where a number is due."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import msgspec

__all__ = ["AlertLine", "EventLine", "QuoteLine", "alert_line", "event_line", "quote_line"]

_CODE = re.compile(r"[0-9A-Za-z]+")


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    """The keys both kinds of line have, with the same types."""

    symbol: str  # the code alone, as Kabu writes it: "7203", never "7203@1"
    exchange: int
    name: str | None
    time: str | None  # the station's time of the price (Kabu's CurrentPriceTime), ISO 8601
    received_at: str  # ISO 8601 in JST, to the millisecond


class QuoteLine(_Line, forbid_unknown_fields=True):
    last: float | None
    change: float | None
    change_pct: float | None
    bid: float | None
    bid_qty: float | None
    ask: float | None
    ask_qty: float | None
    volume: float | None
    vwap: float | None
    high: float | None
    low: float | None


class AlertLine(_Line, forbid_unknown_fields=True):
    rule: str
    price: float


def _check_shared(line: _Line) -> None:
    assert _CODE.fullmatch(line.symbol), f"symbol {line.symbol!r} is not a bare code"
    received = datetime.fromisoformat(line.received_at)
    assert received.utcoffset() == timedelta(hours=9), f"received_at {line.received_at} is not JST"
    assert re.fullmatch(r".+T\d\d:\d\d:\d\d\.\d{3}\+09:00", line.received_at), line.received_at
    if line.time is not None:
        assert datetime.fromisoformat(line.time).utcoffset() is not None, f"time {line.time} has no offset"


def quote_line(text: str | bytes) -> QuoteLine:
    """A quote line of ``stream``, decoded and checked."""
    line = msgspec.json.decode(text, type=QuoteLine)
    _check_shared(line)
    return line


def alert_line(text: str | bytes) -> AlertLine:
    """An alert line of ``stream --alerts``, decoded and checked."""
    line = msgspec.json.decode(text, type=AlertLine)
    _check_shared(line)
    return line


class EventLine(msgspec.Struct, forbid_unknown_fields=True):
    """A change of the station's state: none of a quote's keys, so a line is one or the other."""

    event: str
    previous: str | None
    detail: str
    time: str  # when the feed entered the state: ISO 8601 in JST, to the millisecond, as received_at


_EVENTS = {"live", "stalled", "reconnecting", "unreachable", "logged_out", "wrong_password", "taken"}


def event_line(text: str | bytes) -> EventLine:
    """An event line of ``stream --events``, decoded and checked."""
    line = msgspec.json.decode(text, type=EventLine)
    assert line.event in _EVENTS, f"event {line.event!r} is not one of {sorted(_EVENTS)}"
    assert line.previous is None or line.previous in _EVENTS, f"previous {line.previous!r}"
    assert "\n" not in line.detail
    assert re.fullmatch(r".+T\d\d:\d\d:\d\d\.\d{3}\+09:00", line.time), line.time
    return line
