"""The demo market's morning as stored ticks: what a demo board's chart or tick store fills from.

The embedded test station synthesizes a session from the 09:00 open to when it first made a stock
(:meth:`quoteboard.server.market.Market.morning`), so a demo started mid-day charts a full day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quoteboard.history.candles import Tick
from quoteboard.kabu.protocol import SymbolKey

if TYPE_CHECKING:
    from quoteboard.server import TestServer

__all__ = ["morning_ticks"]


def morning_ticks(server: TestServer, key: SymbolKey) -> list[Tick]:
    """``key``'s trades on ``server``'s market before it first made the stock, oldest first; none for
    a replay (a recording has no made-up morning) or a symbol the market does not list."""
    kabu = server.kabu
    market_key = str(key)
    if kabu.replay is not None or market_key not in kabu.market:
        return []
    return [
        Tick(time=tick.time, price=tick.price, volume=tick.volume, vwap=tick.vwap)
        for tick in kabu.market.morning(market_key)
    ]
