"""The NDJSON record of a quote and of a fired alert: one schema for every line quoteboard writes.

``stream`` prints :func:`quote_record` per quote, ``stream --alerts`` :func:`alert_line` per fired
alert, and a relay publishes :func:`quote_record` on NATS (:mod:`quoteboard.nats.wire`); README's
"NDJSON lines" documents every key. Times are in :data:`JST`, the zone of Kabu's own times, which
every client-side clock uses (the test station keeps its own on purpose).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["JST", "JST_OFFSET", "FiredAlert", "alert_line", "jst_day", "quote_record", "received_at_text"]

JST: Final = timezone(timedelta(hours=9), "JST")
#: JST's offset from UTC in seconds (Japan keeps no summer time).
JST_OFFSET: Final = 9 * 3600


def jst_day(epoch: float) -> int:
    """The JST day of ``epoch`` as a day number (days since 1970-01-01 in JST)."""
    return int((epoch + JST_OFFSET) // 86400)


def received_at_text(received_at: float) -> str:
    """``received_at`` of an NDJSON line: ISO 8601 in JST to the millisecond."""
    return datetime.fromtimestamp(received_at, JST).isoformat(timespec="milliseconds")


def quote_record(quote: Quote) -> dict[str, object]:
    """The NDJSON line of one quote (bid/ask in the usual sense: bid below ask); README's "NDJSON
    lines" documents every key. Called for every quote printed: kept to one dict, no helper calls."""
    return {
        "symbol": quote.symbol,
        "exchange": quote.exchange,
        "name": quote.name,
        "last": quote.last,
        "change": quote.change,
        "change_pct": quote.change_pct,
        "bid": quote.bid,
        "bid_qty": quote.bid_qty,
        "ask": quote.ask,
        "ask_qty": quote.ask_qty,
        "volume": quote.volume,
        "vwap": quote.vwap,
        "high": quote.high,
        "low": quote.low,
        "time": quote.time,
        "received_at": datetime.fromtimestamp(quote.received_at, JST).isoformat(timespec="milliseconds"),
    }


class FiredAlert(Protocol):
    """What an alert line needs of an alert (``quoteboard.alerts.book.Alert``, which takes its JST
    from here: naming the class would tie the two modules in a circle)."""

    @property
    def key(self) -> SymbolKey: ...
    @property
    def rule(self) -> object: ...
    @property
    def fired_price(self) -> float | None: ...


def alert_line(alert: FiredAlert, quote: Quote) -> dict[str, object]:
    """The NDJSON line of ``alert``, fired by ``quote``: the keys it shares with a quote line
    (``symbol``, ``exchange``, ``name``, ``time``, ``received_at``) have their types and formats."""
    return {
        "symbol": alert.key.code,
        "exchange": alert.key.exchange,
        "name": quote.name,
        "rule": str(alert.rule),
        "price": alert.fired_price,
        "time": quote.time,
        "received_at": received_at_text(quote.received_at),
    }
