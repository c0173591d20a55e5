"""Board states the test station can hold a stock in, on demand: a special quote, a halt, the
pre-open, a limit, ... (``POST /serve/fault`` ``{"fault": "state", ...}``, or :meth:`Market.hold
<quoteboard.server.market.Market.hold>`), so the board's marks and the state alerts can be tested
against real frames.

A held stock's frames carry the state's sign (``BidSign``, ``AskSign``, ``Sell1.Sign``, ``Buy1.Sign``)
and ``CurrentPriceStatus`` as the spec defines them; in the states where nothing trades its next
events only change the book's sizes. ``"none"`` lets it trade again.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeVar, get_args

import msgspec

from .ticks import tick_down

#: The market's Board struct (not imported: the market imports this module).
B = TypeVar("B", bound=msgspec.Struct)

__all__ = ["HELD_STATES", "NO_TRADE", "HeldState", "dress", "limit_book"]

HeldState = Literal[
    "none", "special", "caution", "pre-open", "halt", "continuous", "auction", "limit-up", "limit-down"
]
HELD_STATES: Final[tuple[str, ...]] = get_args(HeldState)
#: States in which the stock does not trade while held.
NO_TRADE: Final = frozenset({"special", "pre-open", "halt", "auction", "limit-up", "limit-down"})

_SIGNS: Final = {
    "special": "0102",  # 特別気配
    "caution": "0103",  # 注意気配
    "pre-open": "0117",  # 寄前気配約定成立ポイントあり: the orders would match at one price
    "halt": "0108",  # 停止前特別気配
    "continuous": "0118",  # 連続約定気配
    "auction": "0101",  # 一般気配: the board waits for the call auction
    "limit-up": "0102",  # a special quote at the limit: ストップ高買い気配
    "limit-down": "0102",
}
_STATUS: Final = {"halt": 6, "auction": 3}  # 売買停止, 板寄せ

#: A trade's fields, null before the day's first trade (as the station sends them pre-open).
_TRADE_FIELDS: Final = (
    "CurrentPrice", "CurrentPriceTime", "CurrentPriceChangeStatus", "CurrentPriceStatus",
    "ChangePreviousClose", "ChangePreviousClosePer", "OpeningPrice", "OpeningPriceTime", "HighPrice",
    "HighPriceTime", "LowPrice", "LowPriceTime", "TradingVolumeTime", "VWAP",
)  # fmt: skip


def limit_book(upper: int, lower: int, state: str) -> tuple[int, int]:
    """(best bid, trade price) in tenths of a yen that put a stock at its upper or lower limit."""
    if state == "limit-up":
        return tick_down(upper), upper  # the best ask is the limit, and the last trade there
    return lower, lower


def dress(frame: B, state: str) -> B:
    """``frame`` (a :class:`~.market.Board`) as the station sends it in ``state``."""
    sign = _SIGNS.get(state)
    if sign is None:
        return frame
    board: Any = frame
    changes: dict[str, object] = {
        "BidSign": sign,
        "AskSign": sign,
        "Sell1": msgspec.structs.replace(board.Sell1, Sign=sign),
        "Buy1": msgspec.structs.replace(board.Buy1, Sign=sign),
    }
    if state in _STATUS and board.CurrentPrice is not None:
        changes["CurrentPriceStatus"] = _STATUS[state]
    if state == "pre-open":
        changes.update(dict.fromkeys(_TRADE_FIELDS))
        changes.update(TradingVolume=0.0, TradingValue=0.0)
        # The best quotes meet: the price the open would be at.
        meet = board.AskPrice
        changes.update(BidPrice=meet, Sell1=msgspec.structs.replace(board.Sell1, Sign=sign, Price=meet))
    return msgspec.structs.replace(frame, **changes)
