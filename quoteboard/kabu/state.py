"""What state a symbol's board is in, from one quote and the day's price limits: pure, no I/O.

Kabu says it in three fields the board did not show: the best quotes' sign (``BidSign``/``AskSign``,
which the decoder names ``ask_sign``/``bid_sign``: Kabu's reversed naming), ``CurrentPriceStatus``,
and the day's ``UpperLimit``/``LowerLimit`` from ``GET /symbol``. :func:`board_state` folds them into
one :class:`BoardState`: a short mark for a table column (at most :data:`MARK_CELLS` terminal cells,
full-width characters counted as two) and the words for the panel.

When several hold, the one a trader must know first wins: a halt, then a price at a limit, a special
or caution quote, continuous executions, the pre-open, the call auction, the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

from quoteboard.kabu.protocol import Quote
from quoteboard.kabu.reference import SymbolFacts

__all__ = [
    "AUCTION",
    "CAUTION",
    "CLOSED",
    "CONTINUOUS",
    "HALT",
    "LEGEND",
    "LIMIT_DOWN",
    "LIMIT_UP",
    "MARK_CELLS",
    "PRE_OPEN",
    "SPECIAL",
    "WORDS_CELLS",
    "BoardState",
    "Limits",
    "at_limit",
    "board_state",
    "indicative_price",
    "is_special",
    "shown_price",
]

#: The widest mark, in terminal cells.
MARK_CELLS: Final = 3
#: The longest words, in terminal cells: one line of the side panel.
WORDS_CELLS: Final = 38

# The sign values (BidSign/AskSign, the spec's 最良売気配フラグ/最良買気配フラグ).
SIGN_SPECIAL: Final = "0102"  # 特別気配
SIGN_CAUTION: Final = "0103"  # 注意気配
SIGN_HALT_SPECIAL: Final = "0108"  # 停止前特別気配
SIGN_AFTER_CLOSE: Final = "0109"  # 引け後気配
SIGN_CONTINUOUS: Final = "0118"  # 連続約定気配
SIGN_HALT_CONTINUOUS: Final = "0119"  # 停止前の連続約定気配
#: 寄前気配, and the same without (0116) or with (0117) a price where the orders would match.
SIGNS_PRE_OPEN: Final = frozenset({"0107", "0116", "0117"})
# CurrentPriceStatus values.
STATUS_AUCTION: Final = 3  # 板寄せ
#: 中断, 売買停止, システム停止, サーキットブレイク実施中, 一時留保中: no trade until it is lifted.
STATUSES_HALT: Final = frozenset({5, 6, 9, 12, 16})


@dataclass(frozen=True, slots=True)
class BoardState:
    """One state: its ``mark`` for the table, its ``words`` for the panel."""

    mark: str
    words: str


HALT: Final = BoardState("停", "停止: trading halted (売買停止)")
LIMIT_UP: Final = BoardState("S高", "ストップ高: at the day's upper limit")
LIMIT_DOWN: Final = BoardState("S安", "ストップ安: at the day's lower limit")
SPECIAL: Final = BoardState("特", "特別気配: special quote, no trade yet")
CAUTION: Final = BoardState("注", "注意気配: caution quote, moving fast")
CONTINUOUS: Final = BoardState("連", "連続約定気配: continuous executions")
PRE_OPEN: Final = BoardState("寄", "寄前: pre-open, price is indicative")
AUCTION: Final = BoardState("板", "板寄せ: call auction, price waits")
CLOSED: Final = BoardState("引", "引け: trading closed for the day")
#: Every state, in the order the help screen and README list them.
LEGEND: Final = (SPECIAL, CAUTION, PRE_OPEN, HALT, CONTINUOUS, AUCTION, LIMIT_UP, LIMIT_DOWN, CLOSED)


class Limits(NamedTuple):
    """The day's price limits (値幅上限, 値幅下限) from ``GET /symbol``; either may be unknown."""

    upper: float | None
    lower: float | None

    @classmethod
    def of(cls, facts: SymbolFacts) -> Limits | None:
        """The limits in a ``/symbol`` answer, or None when it has neither (an index)."""
        limits = cls(_price(facts.upper_limit), _price(facts.lower_limit))
        return None if limits == (None, None) else limits


def _price(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _signs(quote: Quote) -> tuple[str | None, str | None]:
    return quote.bid_sign, quote.ask_sign


def at_limit(quote: Quote, limits: Limits | None) -> int:
    """+1 at the day's upper limit, -1 at the lower, 0 otherwise (or with no limits known).

    At the limit by a trade there, or by the best buy (sell) quote waiting at it: the usual
    ストップ高買い気配, where nothing may trade all day.
    """
    if limits is None:
        return 0
    upper, lower = limits
    last, bid, ask = quote.last, quote.bid, quote.ask
    if upper is not None and ((last is not None and last >= upper) or (bid is not None and bid >= upper)):
        return 1
    if lower is not None and ((last is not None and last <= lower) or (ask is not None and ask <= lower)):
        return -1
    return 0


def is_special(quote: Quote) -> bool:
    """A special quote (特別気配) on either side of the book."""
    return SIGN_SPECIAL in (quote.bid_sign, quote.ask_sign)


def board_state(quote: Quote, limits: Limits | None = None) -> BoardState | None:
    """The state ``quote`` shows, or None for an ordinary board (a trade, general quotes)."""
    signs = _signs(quote)
    if quote.price_status in STATUSES_HALT or SIGN_HALT_SPECIAL in signs or SIGN_HALT_CONTINUOUS in signs:
        return HALT
    limit = at_limit(quote, limits)
    if limit:
        return LIMIT_UP if limit > 0 else LIMIT_DOWN
    if SIGN_SPECIAL in signs:
        return SPECIAL
    if SIGN_CAUTION in signs:
        return CAUTION
    if SIGN_CONTINUOUS in signs:
        return CONTINUOUS
    if signs[0] in SIGNS_PRE_OPEN or signs[1] in SIGNS_PRE_OPEN:
        return PRE_OPEN
    if SIGN_AFTER_CLOSE in signs:
        return CLOSED
    if quote.price_status == STATUS_AUCTION:
        return AUCTION
    return None


def indicative_price(quote: Quote) -> float | None:
    """Before the day's first trade, the price the pre-open quotes meet at, else None.

    With a matching point (0117) the best buy quote has reached the best sell quote: the open would
    be between them (at it, when they are equal). It is a quote, not a trade: shown as such.
    """
    if quote.last is not None:
        return None
    if quote.bid_sign not in SIGNS_PRE_OPEN and quote.ask_sign not in SIGNS_PRE_OPEN:
        return None
    bid, ask = quote.bid, quote.ask
    if bid is None or ask is None or bid < ask:
        return None
    return (bid + ask) / 2


def shown_price(quote: Quote) -> float | None:
    """The last trade, or before the first one the indicative price (:func:`indicative_price`)."""
    last = quote.last
    return last if last is not None else indicative_price(quote)
