"""Market movers: the types and markets of ``GET /ranking``, and its answer read into rows (pure).

The station ranks the whole market without taking a registration slot. Each type answers its own
fields (the vendor's ``Ranking*Response`` schemas): :data:`RANKING_TYPES` says which columns each
shows and in what unit. Volumes come in thousands of shares and turnover in millions of yen, and
are shown so; the sector types (14, 15) rank sector indices, which name sectors, not symbols.

Before the open (about 07:53-09:00) the station clears its price and sector rankings and answers an
empty list (kabusapi #578): :attr:`Ranking.movers` is then empty, and the board keeps its last answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.text import printable

__all__ = [
    "MARKETS",
    "RANKING_TYPES",
    "Mover",
    "Ranking",
    "RankingColumn",
    "RankingType",
    "exchange_of",
    "parse_ranking",
]


@dataclass(frozen=True, slots=True)
class RankingColumn:
    """One figure of a mover: the answer's field, its title and unit, how it is written."""

    field: str
    title: str
    #: "price" (1 decimal), "signed" (+/-, coloured), "pct" (+/- %, coloured), "qty" (1 decimal),
    #: "count" (whole), "ratio" (2 decimals), "text".
    style: str
    #: Lower stays longer on a narrow screen.
    priority: int = 1


_PRICE: Final = (
    RankingColumn("CurrentPrice", "Last", "price", 0),
    RankingColumn("ChangeRatio", "Chg", "signed", 1),
    RankingColumn("ChangePercentage", "Chg%", "pct", 0),
)
_VOLUME: Final = RankingColumn("TradingVolume", "Vol k sh", "qty", 1)
_TURNOVER: Final = RankingColumn("Turnover", "Value ¥m", "qty", 2)
_TIME: Final = RankingColumn("CurrentPriceTime", "Time", "text", 3)


@dataclass(frozen=True, slots=True)
class RankingType:
    """A type of ranking: its number (``Type``), its names and the columns its answer fills."""

    number: int
    name: str  # the station's own name
    label: str
    columns: tuple[RankingColumn, ...]
    #: Ranks sector indices (no symbol to add); the market is ignored for these.
    sectors: bool = False


def _margin(number: int, name: str, label: str) -> RankingType:
    columns = (
        RankingColumn("SellRapidPaymentPercentage", "Short k sh", "qty", 0),
        RankingColumn("SellLastWeekRatio", "wk chg", "signed", 1),
        RankingColumn("BuyRapidPaymentPercentage", "Long k sh", "qty", 0),
        RankingColumn("BuyLastWeekRatio", "wk chg", "signed", 1),
        RankingColumn("Ratio", "Ratio", "ratio", 0),
    )
    return RankingType(number, name, label, columns)


#: Every type, by its number.
RANKING_TYPES: Final[dict[int, RankingType]] = {
    t.number: t
    for t in (
        RankingType(1, "値上がり率", "Top gainers", (*_PRICE, _VOLUME, _TURNOVER, _TIME)),
        RankingType(2, "値下がり率", "Top losers", (*_PRICE, _VOLUME, _TURNOVER, _TIME)),
        RankingType(3, "売買高上位", "Most volume", (*_PRICE, _VOLUME, _TURNOVER, _TIME)),
        RankingType(4, "売買代金", "Most value", (*_PRICE, _TURNOVER, _VOLUME, _TIME)),
        RankingType(
            5,
            "TICK回数",
            "Most ticks",
            (
                _PRICE[0],
                _PRICE[2],
                RankingColumn("TickCount", "Ticks", "count", 0),
                RankingColumn("UpCount", "Up", "count", 1),
                RankingColumn("DownCount", "Down", "count", 1),
                _VOLUME,
                _TURNOVER,
            ),
        ),
        RankingType(
            6,
            "売買高急増",
            "Volume surge",
            (*_PRICE[::2], RankingColumn("RapidTradePercentage", "Surge %", "ratio", 0), _VOLUME, _TIME),
        ),
        RankingType(
            7,
            "売買代金急増",
            "Value surge",
            (*_PRICE[::2], RankingColumn("RapidPaymentPercentage", "Surge %", "ratio", 0), _TURNOVER, _TIME),
        ),
        _margin(8, "信用売残増", "Margin shorts up"),
        _margin(9, "信用売残減", "Margin shorts down"),
        _margin(10, "信用買残増", "Margin longs up"),
        _margin(11, "信用買残減", "Margin longs down"),
        _margin(12, "信用高倍率", "High margin ratio"),
        _margin(13, "信用低倍率", "Low margin ratio"),
        RankingType(
            14,
            "業種別値上がり率",
            "Sectors up",
            (RankingColumn("CurrentPrice", "Index", "ratio", 0), *_PRICE[1:], _TIME),
            sectors=True,
        ),
        RankingType(
            15,
            "業種別値下がり率",
            "Sectors down",
            (RankingColumn("CurrentPrice", "Index", "ratio", 0), *_PRICE[1:], _TIME),
            sectors=True,
        ),
    )
}

#: ``ExchangeDivision`` values and what they name.
MARKETS: Final[tuple[tuple[str, str], ...]] = (
    ("ALL", "all markets"),
    ("T", "TSE"),
    ("TP", "TSE Prime"),
    ("TS", "TSE Standard"),
    ("TG", "TSE Growth"),
    ("M", "Nagoya"),
    ("FK", "Fukuoka"),
    ("S", "Sapporo"),
)

#: Kabu's exchange numbers by the first two characters of ``ExchangeName`` (東証プ, 名証メ ...).
_EXCHANGES: Final = {"東証": 1, "名証": 3, "福証": 5, "札証": 6}


def exchange_of(exchange_name: str | None) -> int:
    """The exchange number to register a mover on: its market's, the TSE when not said."""
    return _EXCHANGES.get((exchange_name or "")[:2], 1)


@dataclass(frozen=True, slots=True)
class Mover:
    """One row of a ranking: a symbol (``key``) or, for the sector types, a sector (``key`` None)."""

    rank: int
    key: SymbolKey | None
    name: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ranking:
    """An answer of ``GET /ranking``: ``movers`` empty when the station has cleared its ranking."""

    type: RankingType
    division: str
    movers: tuple[Mover, ...]


def _figure(value: Any) -> Any:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    return printable(str(value))


class _Answer(msgspec.Struct):
    Ranking: list[dict[str, Any]] | None = None


def parse_ranking(content: bytes, type_number: int, division: str) -> Ranking:
    """The answer ``content`` to ``GET /ranking?Type=type_number&ExchangeDivision=division``.
    Raises ``ValueError`` saying what is wrong with an answer that cannot be read."""
    kind = RANKING_TYPES.get(type_number)
    if kind is None:
        raise ValueError(f"no ranking type {type_number}: 1 to 15")
    try:
        answer = msgspec.json.decode(content, type=_Answer)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a ranking answer: {exc}") from None
    movers = []
    for n, row in enumerate(answer.Ranking or (), 1):
        rank = row.get("No")
        rank = rank if isinstance(rank, int) else n
        if kind.sectors:
            key = None
            name = printable(str(row.get("CategoryName") or row.get("Category") or "?"))
        else:
            code = row.get("Symbol")
            if not isinstance(code, str) or not code or not code.isprintable():
                raise ValueError(f"row {n} of the ranking names no symbol")
            key = SymbolKey(code, exchange_of(row.get("ExchangeName")))
            name = printable(str(row.get("SymbolName") or code))
        # Figures stay numbers; anything else the station sends is text for a terminal.
        values = {c.field: _figure(row.get(c.field)) for c in kind.columns}
        movers.append(Mover(rank, key, name, values))
    return Ranking(kind, division, tuple(movers))
