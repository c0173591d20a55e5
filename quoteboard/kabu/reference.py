"""What the station says about a symbol once a day, decoded into small records. Sans-I/O.

``/symbol`` gives :class:`SymbolFacts` (unit, tick group, price limits, margin flags),
``/primaryexchange`` a :class:`PrimaryExchange`, ``/regulations`` a tuple of :class:`Regulation`.
Each parser raises ``ValueError`` saying in words what is wrong with an answer. Kabu's codes
(exchange, product, side, level) are put in words here, once.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ticks import tick_size

__all__ = [
    "PrimaryExchange",
    "Regulation",
    "SymbolFacts",
    "exchange_name",
    "parse_primary_exchange",
    "parse_regulations",
    "symbol_facts",
]

#: Kabu's exchange codes (規制市場 and 優先市場 share them).
_EXCHANGES: Final = {
    0: "all markets", 1: "TSE", 3: "Nagoya", 5: "Fukuoka", 6: "Sapporo", 9: "SOR",
    21: "J-Market", 27: "MS-TSE", 36: "ODX", 37: "JAX", 38: "X-Market",
}  # fmt: skip
#: 規制取引区分.
_PRODUCTS: Final = {
    0: "all trades", 1: "cash", 2: "new standard margin", 3: "new general margin", 4: "new",
    5: "closing standard margin", 6: "closing general margin", 7: "closing", 8: "delivery in",
    9: "delivery out",
}  # fmt: skip
#: 規制売買.
_SIDES: Final = {"0": "buy and sell", "1": "sell", "2": "buy"}
#: コンプライアンスレベル.
_LEVELS: Final = {0: "", 1: "warning", 2: "refused"}


def exchange_name(code: int) -> str:
    return _EXCHANGES.get(code, f"exchange {code}")


class SymbolFacts(msgspec.Struct, frozen=True, rename="pascal"):
    """The parts of ``/symbol`` the card shows. A field the station leaves out (a future has no
    margin flags) is None."""

    symbol: str
    exchange: int | None = None
    symbol_name: str | None = None
    trading_unit: float | None = None
    price_range_group: str | None = None
    upper_limit: float | None = None
    lower_limit: float | None = None
    #: Standard margin (制度信用): new buys, new sells allowed.
    margin_buy: bool | None = None
    margin_sell: bool | None = None
    #: General margin (一般信用): new buys, new sells allowed.
    general_margin_buy: bool | None = msgspec.field(default=None, name="KCMarginBuy")
    general_margin_sell: bool | None = msgspec.field(default=None, name="KCMarginSell")

    @property
    def key(self) -> SymbolKey:
        return SymbolKey(self.symbol, self.exchange or 1)

    def tick_at(self, price: float) -> float | None:
        """The tick at ``price`` in this symbol's group (None: no group, or one the spec lacks)."""
        return tick_size(self.price_range_group, price) if self.price_range_group else None


class PrimaryExchange(msgspec.Struct, frozen=True, rename="pascal"):
    """``/primaryexchange``: the exchange a code trades on by default."""

    symbol: str
    primary_exchange: int

    @property
    def name(self) -> str:
        return exchange_name(self.primary_exchange)


class Regulation(msgspec.Struct, frozen=True, rename="pascal"):
    """One of ``RegulationsInfo``. A short-selling restriction comes without dates or level (null)."""

    exchange: int
    product: int
    side: str
    reason: str
    limit_start_day: str | None = None
    limit_end_day: str | None = None
    level: int | None = None

    def describe(self) -> str:
        """``sell, new standard margin (all markets)``: what is restricted, in words."""
        side = _SIDES.get(self.side, f"side {self.side}")
        product = _PRODUCTS.get(self.product, f"product {self.product}")
        return f"{side}, {product} ({exchange_name(self.exchange)})"

    @property
    def dates(self) -> str:
        """``2026/11/22–2026/12/25`` (the days, without the times), or "" for none."""
        start, end = (day.split(" ")[0] if day else "" for day in (self.limit_start_day, self.limit_end_day))
        return f"{start}–{end}" if start or end else ""

    @property
    def level_name(self) -> str:
        return _LEVELS.get(self.level, f"level {self.level}") if self.level is not None else ""


class _Regulations(msgspec.Struct, rename="pascal"):
    symbol: str
    regulations_info: list[Regulation] | None = None


def symbol_facts(answer: dict[str, Any]) -> SymbolFacts:
    """The card's part of a ``/symbol`` answer (as :meth:`KabuRest.symbol` returns it)."""
    try:
        return msgspec.convert(answer, SymbolFacts)
    except msgspec.ValidationError as exc:
        raise ValueError(f"unreadable symbol answer: {exc}") from None


def parse_primary_exchange(body: bytes) -> PrimaryExchange:
    try:
        return msgspec.json.decode(body, type=PrimaryExchange)
    except msgspec.DecodeError as exc:
        raise ValueError(f"unreadable primary exchange answer: {exc}") from None


def parse_regulations(body: bytes) -> tuple[Regulation, ...]:
    """The regulations of a ``/regulations`` answer (none: an empty tuple)."""
    try:
        answer = msgspec.json.decode(body, type=_Regulations)
    except msgspec.DecodeError as exc:
        raise ValueError(f"unreadable regulations answer: {exc}") from None
    return tuple(answer.regulations_info or ())
