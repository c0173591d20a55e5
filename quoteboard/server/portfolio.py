"""The test server's account: a small portfolio, priced from its own market, for ``GET /positions``.

Holdings are kept in a shape simpler than Kabu's; ``serve --positions FILE`` reads them from JSON::

    [
      {"symbol": "7203", "side": "long", "qty": 300, "price": 2750},
      {"symbol": "9984@1", "side": "short", "qty": 100, "price": 9600}
    ]

``symbol`` is a code listed by the test server (``CODE`` or ``CODE@1``), ``side`` is ``long`` or
``short``, ``qty`` a positive number of shares, ``price`` the average price in yen. ``margin`` says
whether it is a margin position: a short always is, a long is cash unless ``"margin": true``.

Each answer is a ``PositionsSuccess`` list, with ``CurrentPrice``, ``Valuation``, ``ProfitLoss`` and
``ProfitLossRate`` from the market's last price at that moment, so a client sees P&L move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec

from .catalogue import CATALOGUE, EXCHANGE_NAME
from .market import JST

__all__ = [
    "DEMO_PORTFOLIO",
    "Holding",
    "PortfolioError",
    "PositionsSuccess",
    "load_portfolio",
    "parse_portfolio",
    "price_positions",
]

#: ``AccountType`` 4: a specific account (特定), what most individual investors hold.
SPECIFIC_ACCOUNT: Final = 4
#: ``MarginTradeType`` 1: standardised margin (制度信用).
STANDARD_MARGIN: Final = 1
#: Kabu's ``Side``: "1" sell (a short), "2" buy (a long).
SIDE_CODES: Final = {"short": "1", "long": "2"}


class Holding(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One position in the simple file shape (see the module docstring)."""

    symbol: str
    side: Literal["long", "short"]
    qty: Annotated[int, msgspec.Meta(gt=0)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    margin: bool | None = None

    @property
    def key(self) -> str:
        """``CODE@EX`` as the market knows it."""
        return self.symbol if "@" in self.symbol else f"{self.symbol}@1"

    @property
    def on_margin(self) -> bool:
        return self.side == "short" or bool(self.margin)


#: What the demo holds: cash and margin, long and short, average prices near the simulated ones so
#: that P&L moves around zero.
DEMO_PORTFOLIO: Final = (
    Holding("7203", "long", 300, 2750.0),
    Holding("9433", "long", 500, 2480.5),
    Holding("8306", "long", 1000, 1885.0, margin=True),
    Holding("9984", "short", 100, 9620.0),
    Holding("6758", "short", 200, 3450.0),
)


class PositionsSuccess(msgspec.Struct, omit_defaults=True):
    """One item of the ``GET /positions`` answer, in Kabu's names. Margin-only fields are left out
    for a cash position: the spec says they are null there, but types them as plain values."""

    AccountType: int
    Symbol: str
    SymbolName: str
    Exchange: int
    ExchangeName: str
    Price: float
    LeavesQty: float
    HoldQty: float
    Side: str
    ExecutionID: str | None = None
    ExecutionDay: int | None = None
    Expenses: float | None = None
    Commission: float | None = None
    CommissionTax: float | None = None
    ExpireDay: int | None = None
    MarginTradeType: int | None = None
    CurrentPrice: float | None = None
    Valuation: float | None = None
    ProfitLoss: float | None = None
    ProfitLossRate: float | None = None


class PortfolioError(ValueError):
    """A portfolio file that cannot be used; the message says where and why."""


def parse_portfolio(data: bytes | str, source: str = "the portfolio") -> tuple[Holding, ...]:
    """Holdings from JSON text. Raises :class:`PortfolioError` naming the entry at fault."""
    try:
        holdings = msgspec.json.decode(data, type=list[Holding])
    except msgspec.ValidationError as exc:
        raise PortfolioError(f"{source}: {exc} (see `quoteboard serve --help` for the format)") from None
    except msgspec.DecodeError as exc:
        raise PortfolioError(f"{source} is not JSON: {exc}") from None
    for index, holding in enumerate(holdings):
        if holding.key not in CATALOGUE:
            listed = f"{holding.symbol!r} is not listed by the test server"
            raise PortfolioError(f"{source}: `$[{index}].symbol` {listed}")
        if holding.side == "short" and holding.margin is False:
            raise PortfolioError(f"{source}: `$[{index}]` a short position is always on margin")
    return tuple(holdings)


def load_portfolio(path: Path) -> tuple[Holding, ...]:
    """:func:`parse_portfolio` of a file; one that cannot be read is a :class:`PortfolioError` too."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PortfolioError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_portfolio(data, str(path))


def price_positions(
    holdings: Sequence[Holding],
    last_price: Callable[[str], float],
    *,
    today: datetime | None = None,
    addinfo: bool = True,
) -> list[PositionsSuccess]:
    """The ``PositionsSuccess`` items for ``holdings``, valued at ``last_price(CODE@EX)``."""
    day = (today or datetime.now(JST)).astimezone(JST)
    opened = day - timedelta(days=14)
    answer = []
    for number, holding in enumerate(holdings, 1):
        listing = CATALOGUE[holding.key]
        item = PositionsSuccess(
            AccountType=SPECIFIC_ACCOUNT,
            Symbol=listing.code,
            SymbolName=listing.name,
            Exchange=listing.exchange,
            ExchangeName=EXCHANGE_NAME,
            Price=holding.price,
            LeavesQty=float(holding.qty),
            HoldQty=0.0,
            Side=SIDE_CODES[holding.side],
        )
        if holding.on_margin:
            item.ExecutionID = f"E{opened:%Y%m%d}{number:05d}"
            item.ExecutionDay = int(f"{opened:%Y%m%d}")
            item.ExpireDay = int(f"{opened + timedelta(days=182):%Y%m%d}")
            item.MarginTradeType = STANDARD_MARGIN
            item.Expenses = item.Commission = item.CommissionTax = 0.0
        if addinfo:
            last = last_price(holding.key)
            sign = 1 if holding.side == "long" else -1
            profit = sign * (last - holding.price) * holding.qty
            item.CurrentPrice = last
            item.Valuation = last * holding.qty
            item.ProfitLoss = round(profit, 1)
            item.ProfitLossRate = 100 * profit / (holding.price * holding.qty)
        answer.append(item)
    return answer
