"""The test server's buying power, for ``GET /wallet/...``: derived from its portfolio and its market.

The account holds :data:`ACCOUNT_CASH` yen besides the portfolio's positions (see :mod:`.portfolio`).
The rules are the usual ones of a Japanese margin account, simplified:

- the deposit (委託保証金) is the cash, plus :data:`COLLATERAL_RATE` of the value of the stocks held
  in cash (代用有価証券), minus the unrealised losses of the margin positions;
- the margin positions tie up :data:`MARGIN_RATE` of their value at the last price; the rest of the
  deposit is the surplus (余剰保証金);
- new margin positions may reach ``surplus / MARGIN_RATE`` (信用新規可能額); cash purchases may use
  the cash, up to the surplus (a cash buy must not leave the margin positions short of deposit);
- futures and options draw on the same surplus. The test station lists stocks only, so no future or
  option is ever found by symbol.

Every figure moves with the market, as ``GET /positions`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from .portfolio import Holding

__all__ = [
    "ACCOUNT_CASH",
    "COLLATERAL_RATE",
    "MARGIN_RATE",
    "WalletCash",
    "WalletFuture",
    "WalletMargin",
    "WalletOption",
    "wallet_cash",
    "wallet_future",
    "wallet_margin",
    "wallet_option",
]

#: Yen in the account besides the positions.
ACCOUNT_CASH: Final = 3_000_000.0
#: 委託保証金率: the share of a margin position's value the deposit must cover (Kabu's standard 30%).
MARGIN_RATE: Final = 0.30
#: 代用掛目: how much of a cash holding's value counts towards the deposit.
COLLATERAL_RATE: Final = 0.80


class WalletCash(msgspec.Struct):
    """``WalletCashSuccess``. au money connect is off: its bank balance is 0, as the spec says."""

    StockAccountWallet: float
    AuKCStockAccountWallet: float
    AuJbnStockAccountWallet: float


class WalletMargin(msgspec.Struct, omit_defaults=True):
    """``WalletMarginSuccess``. The rates are for a symbol only: without one ``DepositkeepRate`` is
    0.0 and the others are left out (the spec says None, but types them as numbers). No per-symbol
    cap applies, so the two ``Maximum...PerSymbol`` are left out too."""

    MarginAccountWallet: float
    DepositkeepRate: float
    ConsignmentDepositRate: float | None = None
    CashOfConsignmentDepositRate: float | None = None


class WalletFuture(msgspec.Struct, omit_defaults=True):
    """``WalletFutureSuccess`` without a symbol: the margin requirements are for a symbol only."""

    FutureTradeLimit: float


class WalletOption(msgspec.Struct, omit_defaults=True):
    """``WalletOptionSuccess`` without a symbol (selling options needs a deposit too)."""

    OptionBuyTradeLimit: float
    OptionSellTradeLimit: float


class _Account(msgspec.Struct, frozen=True):
    deposit: float
    required: float
    margin_value: float

    @property
    def surplus(self) -> float:
        return max(0.0, self.deposit - self.required)


def _account(holdings: Sequence[Holding], last_price: Callable[[str], float], cash: float) -> _Account:
    deposit, margin_value = cash, 0.0
    for holding in holdings:
        last = last_price(holding.key)
        value = last * holding.qty
        if holding.on_margin:
            sign = 1 if holding.side == "long" else -1
            deposit += min(0.0, sign * (last - holding.price) * holding.qty)
            margin_value += value
        else:
            deposit += COLLATERAL_RATE * value
    return _Account(deposit, MARGIN_RATE * margin_value, margin_value)


def _yen(amount: float) -> float:
    return float(math.floor(amount))


def wallet_cash(
    holdings: Sequence[Holding], last_price: Callable[[str], float], cash: float = ACCOUNT_CASH
) -> WalletCash:
    """What cash purchases may spend now."""
    usable = _yen(min(cash, _account(holdings, last_price, cash).surplus))
    return WalletCash(usable, usable, 0.0)


def wallet_margin(
    holdings: Sequence[Holding],
    last_price: Callable[[str], float],
    cash: float = ACCOUNT_CASH,
    *,
    symbol: bool = False,
) -> WalletMargin:
    """What new margin positions may reach now; with ``symbol``, the rates that apply to one."""
    account = _account(holdings, last_price, cash)
    answer = WalletMargin(_yen(account.surplus / MARGIN_RATE), 0.0)
    if symbol:
        # 保証金維持率 in percent: the deposit against the margin positions' value (none: no ratio).
        if account.margin_value:
            answer.DepositkeepRate = round(100 * account.deposit / account.margin_value, 2)
        answer.ConsignmentDepositRate = 100 * MARGIN_RATE
        answer.CashOfConsignmentDepositRate = 0.0
    return answer


def wallet_future(
    holdings: Sequence[Holding], last_price: Callable[[str], float], cash: float = ACCOUNT_CASH
) -> WalletFuture:
    return WalletFuture(_yen(_account(holdings, last_price, cash).surplus))


def wallet_option(
    holdings: Sequence[Holding], last_price: Callable[[str], float], cash: float = ACCOUNT_CASH
) -> WalletOption:
    surplus = _yen(_account(holdings, last_price, cash).surplus)
    return WalletOption(surplus, surplus)
