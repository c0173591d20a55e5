"""Kabu's ``GET /positions`` answer, decoded: only what the positions view shows. Sans-I/O.

Kabu's ``Side`` is "1" for a sell (a short) and "2" for a buy (a long); it is read here, once, into
:attr:`Position.long`.
"""

from __future__ import annotations

from typing import Final

import msgspec

from quoteboard.kabu.protocol import SymbolKey

__all__ = ["Position", "parse_positions"]

_SELL: Final = "1"
_BUY: Final = "2"


#: Our names for Kabu's.
_KABU_NAMES: Final = {
    "code": "Symbol",
    "exchange": "Exchange",
    "name": "SymbolName",
    "side": "Side",
    "qty": "LeavesQty",
    "price": "Price",
}


class Position(msgspec.Struct, frozen=True, rename=_KABU_NAMES):
    """One position: ``qty`` is ``LeavesQty`` (what is still held), ``price`` the average price."""

    code: str
    exchange: int
    side: str
    qty: float
    price: float
    name: str | None = None

    @property
    def key(self) -> SymbolKey:
        return SymbolKey(self.code, self.exchange)

    @property
    def long(self) -> bool:
        return self.side == _BUY


_decoder: Final = msgspec.json.Decoder(list[Position])


def parse_positions(body: bytes | str) -> list[Position]:
    """The positions of a ``GET /positions`` answer. Raises ``ValueError`` saying what is wrong."""
    try:
        positions = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    for index, position in enumerate(positions):
        if position.side not in (_SELL, _BUY):
            raise ValueError(f"Side {position.side!r} is neither 1 (sell) nor 2 (buy) - at `$[{index}]`")
    return positions
