"""``GET /ranking``: the test station's market movers, made from its own market (:mod:`.market`).

Each of the fifteen types answers in its ``Ranking*Response`` shape of the vendor's spec: price
rankings (1-4 ``RankingDefaultResponse``, 5 ``ByTickCount``, 6 ``ByTradeVolume``, 7 ``ByTradeValue``),
margin rankings (8-13 ``ByMargin``) and sector rankings (14-15 ``ByCategory``, which name sectors, not
symbols). Volumes are in thousands of shares and turnover in millions of yen, as the station sends them.

What is simulated, and how:

- The catalogue lists TSE Prime stocks only, so ``ALL``, ``T`` and ``TP`` rank every stock and the
  other markets answer an empty list, as the station answers for a market with nothing to rank.
- Each call first lets every stock move on by the market time passed since the last call, at a pace
  fixed per stock (at most :data:`MAX_STEPS` events), so a board that asks every minute sees the
  movers move and the tick counts differ.
- Surges (types 6 and 7) compare the day's volume and turnover with a usual day fixed per stock.
- Margin balances are weekly figures fixed per stock; sector indices are the mean move of the sector's
  stocks on a base fixed per sector.
- Playing a day (``serve --day``), the price and sector rankings are empty between 07:53 and 09:00,
  when the real station clears them (kabusapi #578), and list only stocks that have traded.
- ``Trend`` is ``"0"`` (no history) and ``AverageRanking`` 999 (not in the top 100): the test station
  keeps no past rankings. Sector answers leave ``ExchangeDivision`` out where the station sends
  ``null``, which the spec's schema (a plain string) would not accept.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from datetime import time as clock_time
from typing import Any, Final

from .catalogue import EXCHANGE_NAME
from .clock import JST, OPEN
from .market import DayStats, Market
from .station import StationError

__all__ = ["DIVISIONS", "MAX_STEPS", "SECTORS", "TYPES", "Rankings"]

TYPES: Final = tuple(str(n) for n in range(1, 16))
DIVISIONS: Final = ("ALL", "T", "TP", "TS", "TG", "M", "FK", "S")
#: The markets the catalogue's stocks (TSE Prime) are part of.
_LISTED_IN: Final = frozenset({"ALL", "T", "TP"})
#: Market events per stock that one call may catch up on.
MAX_STEPS: Final = 120
#: When the station clears its price and sector rankings, until the open.
CLEARED_FROM: Final = clock_time(7, 53)

#: The TSE 33 sectors in code order: ``BisCategory`` code, sector name, sector index name.
_SECTOR_TABLE: Final = """
0050 水産・農林業 水産・農林
1050 鉱業 鉱業
2050 建設業 建設
3050 食料品 食料品
3100 繊維製品 繊維
3150 パルプ・紙 パルプ・紙
3200 化学 化学
3250 医薬品 医薬品
3300 石油・石炭製品 石油・石炭
3350 ゴム製品 ゴム
3400 ガラス・土石製品 ガラス・土石
3450 鉄鋼 鉄鋼
3500 非鉄金属 非鉄金属
3550 金属製品 金属製品
3600 機械 機械
3650 電気機器 電気機器
3700 輸送用機器 輸送用機器
3750 精密機器 精密機器
3800 その他製品 その他製品
4050 電気・ガス業 電力・ガス
5050 陸運業 陸運
5100 海運業 海運
5150 空運業 空運
5200 倉庫・運輸関連業 倉庫・運輸
5250 情報・通信業 情報・通信
6050 卸売業 卸売
6100 小売業 小売
7050 銀行業 銀行
7100 証券、商品先物取引業 証券・商品
7150 保険業 保険
7200 その他金融業 その他金融
8050 不動産業 不動産
9050 サービス業 サービス
"""
#: ``BisCategory`` code -> (sector name, index code, index name); the index codes run from 321.
SECTORS: Final[dict[str, tuple[str, str, str]]] = {
    code: (name, str(321 + n), f"IS {short}")
    for n, (code, name, short) in enumerate(line.split() for line in _SECTOR_TABLE.strip().splitlines())
}


def _fixed(seed: str) -> random.Random:
    """A generator fixed by ``seed`` alone: the same usual day and margin figures on every run."""
    return random.Random(zlib.crc32(seed.encode()))


def _hhmm(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(JST).strftime("%H:%M")


def _pct(now: float, before: float) -> float:
    return round(100 * (now - before) / before, 2) if before else 0.0


def _numbered(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], float]) -> list[dict[str, Any]]:
    """``rows`` in order of ``key`` (highest first), each with its ``No``; equal values share one."""
    rows.sort(key=key, reverse=True)
    out: list[dict[str, Any]] = []
    previous: float | None = None
    rank = 0
    for n, row in enumerate(rows, 1):
        value = key(row)
        if value != previous:
            rank, previous = n, value
        out.append({"No": rank, **row})
    return out


class Rankings:
    """The answers of ``GET /ranking`` for one market."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self._moved: datetime | None = None
        #: Calls answered, by (Type, ExchangeDivision): what a relay's cache saves is counted here.
        self.asked: Counter[tuple[str, str]] = Counter()

    def answer(self, type_: str, division: str) -> dict[str, Any]:
        """The ``Ranking*Response`` body; :class:`StationError` 4001005 for an unknown type or market."""
        if type_ not in TYPES or division not in DIVISIONS:
            raise StationError(4001005)
        self.asked[type_, division] += 1
        kind = int(type_)
        if kind >= 14:  # the market is ignored for sectors (and sent as null: see the docstring)
            return {"Type": type_, "Ranking": [] if self._cleared() else self._sectors(kind)}
        body: dict[str, Any] = {"Type": type_, "ExchangeDivision": division, "Ranking": []}
        if division not in _LISTED_IN:
            return body
        if kind >= 8:
            body["Ranking"] = self._margin(kind)
        elif not self._cleared():
            body["Ranking"] = self._prices(kind)
        return body

    # -- the market -----------------------------------------------------------------------------------

    def _cleared(self) -> bool:
        if self.market.phase() is None:
            return False
        of_day = self.market.now().astimezone(JST).time()
        return CLEARED_FROM <= of_day < OPEN

    def _stocks(self) -> list[DayStats]:
        """Every stock's day, after letting the market move on by the time since the last call, each
        stock at its own pace (the first call gives each a busier or quieter morning than the rest)."""
        market = self.market
        now = market.now()
        elapsed = MAX_STEPS if self._moved is None else (now - self._moved).total_seconds()
        self._moved = now
        stats = []
        for key in market.listed():
            activity = _fixed(f"activity/{key}").uniform(0.2, 1.0)
            for _ in range(min(MAX_STEPS, int(elapsed * activity))):
                if not market.advance(key):
                    break
            day = market.stats(key)
            if day.traded:
                stats.append(day)
        return stats

    # -- the three shapes -------------------------------------------------------------------------------

    def _prices(self, kind: int) -> list[dict[str, Any]]:
        rows = []
        for day in self._stocks():
            listing = day.listing
            usual = _fixed(f"usual/{listing.code}").uniform(0.3, 3.0) * 9e8  # yen, a usual day's turnover
            row: dict[str, Any] = {
                "Trend": "0",
                "AverageRanking": 999.0,
                "Symbol": listing.code,
                "SymbolName": listing.name,
                "CurrentPrice": day.last,
                "ChangeRatio": round(day.last - day.prev_close, 1),
            }
            volume = round(day.volume / 1000, 1)  # thousands of shares
            turnover = round(day.turnover / 1e6, 1)  # millions of yen
            percentage = _pct(day.last, day.prev_close)
            if kind == 5:
                row |= {"TickCount": day.ticks, "UpCount": day.ups, "DownCount": day.downs}
                row |= {"ChangePercentage": percentage, "TradingVolume": volume, "Turnover": turnover}
            elif kind == 6:
                surge = round(100 * day.volume * day.prev_close / usual, 2)
                row |= {"RapidTradePercentage": surge, "TradingVolume": volume,
                        "CurrentPriceTime": _hhmm(day.last_time), "ChangePercentage": percentage}  # fmt: skip
            elif kind == 7:
                surge = round(100 * day.turnover / usual, 2)
                row |= {"RapidPaymentPercentage": surge, "Turnover": turnover,
                        "CurrentPriceTime": _hhmm(day.last_time), "ChangePercentage": percentage}  # fmt: skip
            else:
                row |= {"ChangePercentage": percentage, "CurrentPriceTime": _hhmm(day.last_time),
                        "TradingVolume": volume, "Turnover": turnover}  # fmt: skip
            row |= {"ExchangeName": EXCHANGE_NAME, "CategoryName": SECTORS[listing.sector][0]}
            rows.append(row)
        by: dict[int, Callable[[dict[str, Any]], float]] = {
            1: lambda r: r["ChangePercentage"],
            2: lambda r: -r["ChangePercentage"],
            3: lambda r: r["TradingVolume"],
            4: lambda r: r["Turnover"],
            5: lambda r: r["TickCount"],
            6: lambda r: r["RapidTradePercentage"],
            7: lambda r: r["RapidPaymentPercentage"],
        }
        return _numbered(rows, by[kind])

    def _margin(self, kind: int) -> list[dict[str, Any]]:
        rows = []
        for key in self.market.listed():
            listing = self.market.listing(key)
            assert listing is not None
            rng = _fixed(f"margin/{listing.code}")
            sell = round(listing.shares * rng.uniform(0.0005, 0.004), 1)  # thousands of shares
            buy = round(listing.shares * rng.uniform(0.002, 0.012), 1)
            rows.append(
                {
                    "Symbol": listing.code,
                    "SymbolName": listing.name,
                    "SellRapidPaymentPercentage": sell,
                    "SellLastWeekRatio": round(sell * rng.uniform(-0.3, 0.3), 1),
                    "BuyRapidPaymentPercentage": buy,
                    "BuyLastWeekRatio": round(buy * rng.uniform(-0.2, 0.2), 1),
                    "Ratio": round(buy / sell, 2),
                    "ExchangeName": EXCHANGE_NAME,
                    "CategoryName": SECTORS[listing.sector][0],
                }
            )
        field, sign = {8: ("SellLastWeekRatio", 1), 9: ("SellLastWeekRatio", -1), 10: ("BuyLastWeekRatio", 1),
                       11: ("BuyLastWeekRatio", -1), 12: ("Ratio", 1), 13: ("Ratio", -1)}[kind]  # fmt: skip
        return _numbered(rows, lambda r: sign * r[field])

    def _sectors(self, kind: int) -> list[dict[str, Any]]:
        moves: dict[str, list[float]] = {}
        last_time: dict[str, str] = {}
        for day in self._stocks():
            moves.setdefault(day.listing.sector, []).append(day.last / day.prev_close)
            last_time[day.listing.sector] = max(last_time.get(day.listing.sector, ""), day.last_time)
        rows = []
        for sector, ratios in moves.items():
            _name, code, index_name = SECTORS[sector]
            base = round(_fixed(f"sector/{sector}").uniform(200, 5000), 2)  # yesterday's close
            level = round(base * sum(ratios) / len(ratios), 2)
            rows.append(
                {
                    "Trend": "0",
                    "AverageRanking": 999.0,
                    "Category": code,
                    "CategoryName": index_name,
                    "CurrentPrice": level,
                    "ChangeRatio": round(level - base, 2),
                    "CurrentPriceTime": _hhmm(last_time[sector]),
                    "ChangePercentage": _pct(level, base),
                }
            )
        sign = 1 if kind == 14 else -1
        return _numbered(rows, lambda r: sign * r["ChangePercentage"])
