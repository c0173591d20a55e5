"""A simulated TSE market for the test server: pure, seedable, no I/O.

Each stock is a random walk of its best quotes on the TSE price grid, with trades at the best bid or
ask. Everything the station reports is derived from that walk, so the numbers agree with each other
the way a real board's do: ``LowPrice <= CurrentPrice <= HighPrice``, ``VWAP`` is traded value over
volume, volume only grows, the book is ten levels a side one tick apart.

Prices live as integers in tenths of a yen so the grid stays exact (see :mod:`.ticks` for the TSE
tick table used); they become floats only in :class:`Board`.

Frames are :class:`Board` structs whose field names are Kabu's own, reversed ``Bid``/``Ask`` naming
included: ``BidPrice`` is the best SELL quote (``Sell1``), ``AskPrice`` the best BUY quote (``Buy1``).

With ``day=True`` (``serve --day``) the market plays a TSE trading day on its clock (a
:class:`~.clock.StationClock`): pre-open quotes with no trade, the opening auction at 09:00, continuous
trading, nothing over lunch, the closing auction from 15:25 and the closing price at 15:30 (see
:class:`~.clock.Phase`). Until a stock's first trade its trade fields are ``null``, as the station
sends fields not delivered yet.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final, NamedTuple

import msgspec

from .catalogue import CATALOGUE, EXCHANGE_NAME, Listing
from .clock import CLOSE, JST, OPEN, Phase, phase_at, today_at
from .reference import margin_flags
from .states import NO_TRADE, dress, limit_book
from .ticks import price_limit, snap, tick_down, tick_up

__all__ = ["JST", "Board", "DayStats", "Market", "MorningTick", "SymbolInfo", "encode"]

UP: Final = "0057"
DOWN: Final = "0058"
SAME: Final = "0056"
ITAYOSE_CLOSE: Final = "0061"  # 板寄り引け: the close set by the closing auction
GENERAL_QUOTE: Final = "0101"  # 一般気配
PRE_OPEN_QUOTE: Final = "0107"  # 寄前気配
AFTER_CLOSE_QUOTE: Final = "0109"  # 引け後気配
CURRENT: Final = 1  # CurrentPriceStatus 現値: a trade of the continuous session
ITAYOSE: Final = 3  # CurrentPriceStatus 板寄せ: set by (or waiting for) a call auction
STOCK: Final = 1  # SecurityType of an ordinary stock
TRADING_UNIT: Final = 100
LEVELS: Final = 10
#: Station seconds between two synthesized trades of the session before a stock was first asked for.
MORNING_SPACING: Final = 20


def _now_jst() -> datetime:
    return datetime.now(JST)


def _stamp(moment: datetime) -> str:
    """The spec's time format: ``2022-04-04T15:00:00+09:00``."""
    return moment.astimezone(JST).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------------
# Wire shapes, in Kabu's names (schemas BoardSuccess and SymbolSuccess of the official spec)
# --------------------------------------------------------------------------------------------------


class Level(msgspec.Struct, gc=False):
    Price: float
    Qty: float


class BestLevel(msgspec.Struct, gc=False):
    Time: str
    Sign: str
    Price: float
    Qty: float


class Board(msgspec.Struct, gc=False):
    """A full ``BoardSuccess`` snapshot of a stock: the ``GET /board`` answer and every PUSH frame.

    The derivatives-only fields (``ClearingPrice``, ``IV``, ``Gamma``, ``Theta``, ``Vega``, ``Delta``)
    are left out, as in the spec's own stock example: the schema types them as plain numbers, so a
    ``null`` would not validate, and a stock has no value for them. The trade fields are ``None``
    (``null``) before a stock's first trade of the day, as a real station sends them.
    """

    Symbol: str
    SymbolName: str
    Exchange: int
    ExchangeName: str
    CurrentPrice: float | None
    CurrentPriceTime: str | None
    CurrentPriceChangeStatus: str | None
    CurrentPriceStatus: int | None
    CalcPrice: float
    PreviousClose: float
    PreviousCloseTime: str
    ChangePreviousClose: float | None
    ChangePreviousClosePer: float | None
    OpeningPrice: float | None
    OpeningPriceTime: str | None
    HighPrice: float | None
    HighPriceTime: str | None
    LowPrice: float | None
    LowPriceTime: str | None
    TradingVolume: float
    TradingVolumeTime: str | None
    VWAP: float | None
    TradingValue: float
    # Kabu's "Bid" is the best SELL quote (最良売気配) = Sell1.
    BidQty: float
    BidPrice: float
    BidTime: str
    BidSign: str
    MarketOrderSellQty: float
    Sell1: BestLevel
    Sell2: Level
    Sell3: Level
    Sell4: Level
    Sell5: Level
    Sell6: Level
    Sell7: Level
    Sell8: Level
    Sell9: Level
    Sell10: Level
    # Kabu's "Ask" is the best BUY quote (最良買気配) = Buy1.
    AskQty: float
    AskPrice: float
    AskTime: str
    AskSign: str
    MarketOrderBuyQty: float
    Buy1: BestLevel
    Buy2: Level
    Buy3: Level
    Buy4: Level
    Buy5: Level
    Buy6: Level
    Buy7: Level
    Buy8: Level
    Buy9: Level
    Buy10: Level
    OverSellQty: float
    UnderBuyQty: float
    TotalMarketValue: float
    SecurityType: int


class DayStats(msgspec.Struct, frozen=True):
    """A stock's day so far, what the rankings are made of (:mod:`.ranking`); yen and shares."""

    listing: Listing
    traded: bool
    last: float
    prev_close: float
    last_time: str
    volume: float
    turnover: float
    ticks: int
    ups: int
    downs: int


class SymbolInfo(msgspec.Struct, omit_defaults=True):
    """A ``SymbolSuccess`` answer for a stock.

    The derivatives-only fields are left out. With ``addinfo=false`` the spec says the additional
    fields are ``null``; they are left out instead (they default to ``None`` and ``omit_defaults``
    drops them) because the schema types them as plain numbers and a ``null`` would not validate.
    """

    Symbol: str
    SymbolName: str
    DisplayName: str
    Exchange: int
    ExchangeName: str
    BisCategory: str
    TradingUnit: float
    PriceRangeGroup: str
    KCMarginBuy: bool
    KCMarginSell: bool
    MarginBuy: bool
    MarginSell: bool
    UpperLimit: float
    LowerLimit: float
    TotalMarketValue: float | None = None
    TotalStocks: float | None = None
    FiscalYearEndBasic: int | None = None


_encoder: Final = msgspec.json.Encoder()


def encode(value: Board | SymbolInfo) -> bytes:
    """JSON bytes for a wire shape."""
    return _encoder.encode(value)


# --------------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------------


class _Stock:
    """The state of one simulated stock. All prices in tenths of a yen."""

    __slots__ = (
        "ask_sizes", "bid", "bid_sizes", "born", "closed", "downs", "held", "high", "high_time", "last",
        "last_time", "listing", "lots", "low", "low_time", "lower", "open", "open_time", "opening_qty",
        "over", "prev_close", "prev_close_time", "price_status", "quote_time", "rng", "sign", "status",
        "ticks", "traded", "turnover", "under", "upper", "ups", "volume",
    )  # fmt: skip

    def __init__(self, listing: Listing, rng: random.Random, now: datetime, opened: bool = True) -> None:
        self.listing = listing
        self.rng = rng
        self.born = now
        stamp = _stamp(now)
        self.prev_close = snap(round(listing.price * 10 * (1 + rng.uniform(-0.03, 0.03))))
        width = price_limit(self.prev_close)
        self.upper = self.prev_close + width
        self.lower = max(self.prev_close - width, 1)
        self.open = snap(round(self.prev_close * (1 + rng.gauss(0, 0.006))))
        self.open = min(max(self.open, self.lower), tick_down(self.upper))
        today = now.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0)
        self.open_time = _stamp(today.replace(hour=9))
        previous = today - timedelta(days=1)
        while previous.weekday() >= 5:  # the previous close is from the last weekday
            previous -= timedelta(days=1)
        self.prev_close_time = _stamp(previous)
        # Typical trade: a few million yen, at least one trading unit.
        self.lots = max(1.0, 3_000_000 / (self.open / 10) / TRADING_UNIT)
        self.opening_qty = TRADING_UNIT * int(self.lots * rng.uniform(20, 60) + 1)
        self.bid = self.open if rng.random() < 0.5 else tick_down(self.open)
        self.status = SAME
        self.price_status = CURRENT
        self.closed = False
        self.ask_sizes = [self._depth() for _ in range(LEVELS)]
        self.bid_sizes = [self._depth() for _ in range(LEVELS)]
        self.over = sum(self.ask_sizes) * rng.randint(5, 20)
        self.under = sum(self.bid_sizes) * rng.randint(5, 20)
        self.quote_time = stamp
        # Before the first trade the last price is the previous close (what a position is worth).
        self.last = self.high = self.low = self.prev_close
        self.last_time = self.high_time = self.low_time = stamp
        self.volume = self.turnover = 0
        self.ticks = self.ups = self.downs = 0  # trades, and those up or down a price (TICK回数)
        self.traded = False
        self.sign = PRE_OPEN_QUOTE
        #: A board state held on demand (see :mod:`.states`), None for the market's own.
        self.held: str | None = None
        if opened:
            self.open_now(stamp)
            self.price_status = CURRENT

    def open_now(self, stamp: str) -> None:
        """The opening auction: the first trade of the day, at the open, for many orders at once."""
        qty = self.opening_qty
        self.last = self.high = self.low = self.open
        self.last_time = self.high_time = self.low_time = self.quote_time = stamp
        self.volume = qty
        self.ticks = 1
        self.turnover = self.open * qty  # in tenths of a yen
        self.traded = True
        self.price_status = ITAYOSE
        self.sign = GENERAL_QUOTE

    def close_now(self, stamp: str) -> None:
        """The closing auction: one last trade at the best quote on the side with more waiting."""
        price = self.bid if sum(self.bid_sizes) >= sum(self.ask_sizes) else tick_up(self.bid)
        qty = TRADING_UNIT * int(self.lots * self.rng.uniform(20, 60) + 1)
        self._trade(price, qty, stamp)
        self.status = ITAYOSE_CLOSE
        self.price_status = ITAYOSE
        self.sign = AFTER_CLOSE_QUOTE
        self.closed = True

    def _depth(self) -> int:
        return TRADING_UNIT * (1 + int(self.rng.expovariate(1 / (self.lots * 4))))

    def _trade_size(self) -> int:
        return TRADING_UNIT * (1 + int(self.rng.expovariate(1 / self.lots)))

    def step(self, stamp: str) -> None:
        """One market event: the quotes may move a tick, then a trade at the bid or the ask."""
        if self.held in NO_TRADE:  # only the sizes change: the price stays where the state put it
            self._churn()
            self.quote_time = stamp
            return
        rng = self.rng
        self._move_quotes()
        buy = rng.random() < 0.5
        price = tick_up(self.bid) if buy else self.bid
        qty = self._trade_size()
        side = self.ask_sizes if buy else self.bid_sizes
        side[0] -= qty
        if side[0] <= 0:
            side[0] = self._depth()
        self._churn()

        self.status = UP if price > self.last else DOWN if price < self.last else SAME
        self.ups += self.status == UP
        self.downs += self.status == DOWN
        self.price_status = CURRENT
        self._trade(price, qty, stamp)

    def _trade(self, price: int, qty: int, stamp: str) -> None:
        """A trade of ``qty`` at ``price``: the last price, the day's volume, turnover, high and low."""
        self.last = price
        self.last_time = self.quote_time = stamp
        self.ticks += 1
        self.volume += qty
        self.turnover += price * qty
        if price > self.high:
            self.high, self.high_time = price, stamp
        if price < self.low:
            self.low, self.low_time = price, stamp

    def quote(self, stamp: str) -> None:
        """A market event with no trade (before the open, in the closing auction): quotes only."""
        self._move_quotes()
        self._churn()
        self.quote_time = stamp

    def _move_quotes(self) -> None:
        rng = self.rng
        # Pull toward the open, harder near the daily limits, so a long demo stays in range.
        pull = (self.bid - self.open) / (self.upper - self.lower)
        r = rng.random()
        if r < 0.18 * (1 - 2 * pull) and tick_up(tick_up(self.bid)) <= self.upper:
            self.bid = tick_up(self.bid)
            # The old best ask is now the best bid: shift both sides of the book up one level.
            self.bid_sizes.insert(0, self.ask_sizes.pop(0))
            self.bid_sizes.pop()
            self.ask_sizes.append(self._depth())
        elif r > 1 - 0.18 * (1 + 2 * pull) and tick_down(self.bid) >= self.lower:
            self.bid = tick_down(self.bid)
            self.ask_sizes.insert(0, self.bid_sizes.pop(0))
            self.ask_sizes.pop()
            self.bid_sizes.append(self._depth())

    def _churn(self) -> None:
        rng = self.rng
        for _ in range(2):  # orders come and go further out
            (self.ask_sizes if rng.random() < 0.5 else self.bid_sizes)[rng.randrange(LEVELS)] = self._depth()
        self.over = max(TRADING_UNIT, self.over + TRADING_UNIT * rng.randint(-5, 5))
        self.under = max(TRADING_UNIT, self.under + TRADING_UNIT * rng.randint(-5, 5))

    def board(self) -> Board:
        board = self._board()
        return board if self.held is None else dress(board, self.held)

    def _board(self) -> Board:
        listing = self.listing
        asks = [tick_up(self.bid)]
        bids = [self.bid]
        for _ in range(LEVELS - 1):
            asks.append(tick_up(asks[-1]))
            bids.append(max(tick_down(bids[-1]), 1))
        ask_qty = float(self.ask_sizes[0])
        bid_qty = float(self.bid_sizes[0])
        t = self.quote_time
        sell = [Level(p / 10, float(q)) for p, q in zip(asks, self.ask_sizes, strict=True)]
        buy = [Level(p / 10, float(q)) for p, q in zip(bids, self.bid_sizes, strict=True)]
        last = self.last / 10
        change = (self.last - self.prev_close) / 10
        traded = self.traded  # before the first trade the station sends the trade fields as null
        return Board(
            Symbol=listing.code,
            SymbolName=listing.name,
            Exchange=listing.exchange,
            ExchangeName=EXCHANGE_NAME,
            CurrentPrice=last if traded else None,
            CurrentPriceTime=self.last_time if traded else None,
            CurrentPriceChangeStatus=self.status if traded else None,
            CurrentPriceStatus=self.price_status if traded else None,
            CalcPrice=last,
            PreviousClose=self.prev_close / 10,
            PreviousCloseTime=self.prev_close_time,
            ChangePreviousClose=round(change, 1) if traded else None,
            ChangePreviousClosePer=(
                round(100 * (self.last - self.prev_close) / self.prev_close, 2) if traded else None
            ),
            OpeningPrice=self.open / 10 if traded else None,
            OpeningPriceTime=self.open_time if traded else None,
            HighPrice=self.high / 10 if traded else None,
            HighPriceTime=self.high_time if traded else None,
            LowPrice=self.low / 10 if traded else None,
            LowPriceTime=self.low_time if traded else None,
            TradingVolume=float(self.volume),
            TradingVolumeTime=self.last_time if traded else None,
            VWAP=round(self.turnover / self.volume / 10, 4) if traded else None,
            TradingValue=self.turnover / 10,
            BidQty=ask_qty,
            BidPrice=asks[0] / 10,
            BidTime=t,
            BidSign=self.sign,
            MarketOrderSellQty=0.0,
            Sell1=BestLevel(t, self.sign, asks[0] / 10, ask_qty),
            Sell2=sell[1], Sell3=sell[2], Sell4=sell[3], Sell5=sell[4], Sell6=sell[5],
            Sell7=sell[6], Sell8=sell[7], Sell9=sell[8], Sell10=sell[9],
            AskQty=bid_qty,
            AskPrice=bids[0] / 10,
            AskTime=t,
            AskSign=self.sign,
            MarketOrderBuyQty=0.0,
            Buy1=BestLevel(t, self.sign, bids[0] / 10, bid_qty),
            Buy2=buy[1], Buy3=buy[2], Buy4=buy[3], Buy5=buy[4], Buy6=buy[5],
            Buy7=buy[6], Buy8=buy[7], Buy9=buy[8], Buy10=buy[9],
            OverSellQty=float(self.over),
            UnderBuyQty=float(self.under),
            TotalMarketValue=last * listing.shares * 1000,
            SecurityType=STOCK,
        )  # fmt: skip


class MorningTick(NamedTuple):
    """One synthesized trade of the session before the market started: epoch seconds, the price in
    yen, and the day's volume and VWAP so far (the station's own shape, not the client's Tick)."""

    time: float
    price: float
    volume: float
    vwap: float


def _trading_times(start: datetime, end: datetime) -> list[datetime]:
    """Every MORNING_SPACING seconds from ``start`` to ``end`` while the session trades (no lunch)."""
    times = []
    moment = start
    while moment <= end:
        if phase_at(moment).trading:
            times.append(moment)
        moment += timedelta(seconds=MORNING_SPACING)
    return times


def _synthesize_morning(stock: _Stock, rng: random.Random) -> list[MorningTick]:
    """Trades from the 09:00 open to the moment ``stock`` was made, ending where its state is then.

    A random walk on the price grid bent to end at the stock's last price (a Brownian bridge), within
    the daily limits; the day's high and low take it in, the volume grows from the opening auction's
    to the stock's, and the VWAP is bent to end at the stock's, so the board and the chart agree."""
    opened = today_at(OPEN, stock.born)
    end = min(stock.born, today_at(CLOSE, stock.born))
    if not stock.traded or end <= opened:
        return []
    times = _trading_times(opened, end)
    count = len(times)
    walk = [0.0]
    wiggle = max(1.0, stock.open * 0.00025)  # tenths of a yen a step: the day moves about 1 %
    for _ in range(count - 1):
        walk.append(walk[-1] + rng.gauss(0, wiggle))
    bend = walk[-1] - (stock.last - stock.open)
    weights = [rng.expovariate(1.0) for _ in range(count - 1)]
    total_weight = sum(weights) or 1.0
    first_qty = min(stock.opening_qty, stock.volume)
    ticks = []
    volume = turnover = 0.0
    for index, moment in enumerate(times):
        share = index / (count - 1) if count > 1 else 1.0
        price = snap(round(stock.open + walk[index] - share * bend))
        price = stock.open if index == 0 else stock.last if index == count - 1 else price
        price = min(max(price, tick_up(stock.lower)), tick_down(stock.upper))
        stamp = _stamp(moment)
        if price > stock.high:
            stock.high, stock.high_time = price, stamp
        if price < stock.low:
            stock.low, stock.low_time = price, stamp
        if index == 0:
            traded = float(first_qty)
        else:
            traded = (stock.volume - first_qty) * weights[index - 1] / total_weight
        volume += traded
        turnover += traded * price
        ticks.append([moment.timestamp(), price, volume, turnover / volume if volume else price])
    # Bent to end at the stock's own VWAP and volume (rounding leaves them a hair apart otherwise).
    vwap_gap = stock.turnover / stock.volume - ticks[-1][3] if stock.volume else 0.0
    ticks[-1][2] = float(stock.volume)
    last = max(1, count - 1)
    return [
        MorningTick(when, price / 10, round(volume), round((vwap + vwap_gap * index / last) / 10, 4))
        for index, (when, price, volume, vwap) in enumerate(ticks)
    ]


class Market:
    """The simulated market: one random walk per catalogue stock, created when first asked for.

    Keys are ``CODE@EXCHANGE`` strings. With a ``seed`` each stock gets its own generator seeded from
    it and its code, so a stock's snapshots after N steps are the same whatever else was asked for.
    ``clock`` gives the (aware) time stamped on events; inject a fixed one for byte-exact snapshots.
    With ``day`` the market plays the trading day its clock is in (see the module docstring): use
    :meth:`advance` and :meth:`next_frame`, which know when nothing happens.
    """

    def __init__(
        self,
        seed: int | None = None,
        clock: Callable[[], datetime] | None = None,
        catalogue: Mapping[str, Listing] = CATALOGUE,
        day: bool = False,
    ) -> None:
        self._seed = seed
        self._clock = clock or _now_jst
        self._catalogue = catalogue
        self._stocks: dict[str, _Stock] = {}
        self._mornings: dict[str, list[MorningTick]] = {}
        self.day = day

    def __contains__(self, key: object) -> bool:
        return key in self._catalogue

    def listing(self, key: str) -> Listing | None:
        return self._catalogue.get(key)

    def _stock(self, key: str) -> _Stock:
        stock = self._stocks.get(key)
        if stock is None:
            listing = self._catalogue[key]  # KeyError for an unknown key, on purpose
            rng = random.Random(f"{self._seed}/{key}") if self._seed is not None else random.Random()
            now = self._clock()
            opened = not self.day or phase_at(now).reached(Phase.MORNING)
            stock = _Stock(listing, rng, now, opened)
            stamp = _stamp(now)
            if opened:
                for _ in range(300):  # the session so far, so high/low/VWAP have some history
                    stock.step(stamp)
            self._stocks[key] = stock
            if self.day:
                self._settle(stock, now)
        return stock

    @staticmethod
    def _settle(stock: _Stock, now: datetime) -> bool:
        """Run the auctions of the day that are due by ``now`` (the open at 09:00, the close at
        15:30) and have not run yet, stamped with their own times; True if one ran."""
        phase = phase_at(now)
        ran = False
        if not stock.traded and phase.reached(Phase.MORNING):
            stock.open_now(_stamp(today_at(OPEN, now)))
            ran = True
        if not stock.closed and phase is Phase.CLOSED:
            stock.close_now(_stamp(today_at(CLOSE, now)))
            ran = True
        return ran

    def phase(self) -> Phase | None:
        """The phase of the trading day by the market's clock; None unless it plays a day."""
        return phase_at(self._clock()) if self.day else None

    def advance(self, key: str) -> bool:
        """Let ``key``'s market move on to now; False when nothing happened (a silent phase of the
        day: before 08:00, lunch, after the close), which is then nothing to push."""
        stock = self._stock(key)
        now = self._clock()
        stamp = _stamp(now)
        if not self.day:
            stock.step(stamp)
            return True
        if self._settle(stock, now):
            return True  # the auction's own frame, before anything trades after it
        phase = phase_at(now)
        if phase.trading:
            stock.step(stamp)
        elif phase is Phase.PRE_OPEN:
            stock.quote(stamp)
        elif phase is Phase.CLOSING_AUCTION:
            stock.quote(stamp)
            stock.price_status = ITAYOSE  # the board waits for the closing auction
        else:
            return False
        return True

    def next_frame(self, key: str) -> bytes | None:
        """The PUSH frame of ``key``'s next event, or None when there is nothing to push."""
        if not self.day:
            return self.frame(key)
        return _encoder.encode(self._stock(key).board()) if self.advance(key) else None

    def closing_prices(self) -> dict[str, float | None]:
        """Each stock asked for so far (``CODE@EX``) and its closing price in yen, None before 15:30."""
        now = self._clock()
        prices: dict[str, float | None] = {}
        for key, stock in self._stocks.items():
            if self.day:
                self._settle(stock, now)
            prices[key] = stock.last / 10 if stock.closed else None
        return prices

    def listed(self) -> list[str]:
        """Every listed ``CODE@EX`` key, in code order."""
        return list(self._catalogue)

    def stats(self, key: str) -> DayStats:
        """``key``'s day so far (the stock made now if nobody asked for it yet)."""
        stock = self._stock(key)
        return DayStats(
            listing=stock.listing,
            traded=stock.traded,
            last=stock.last / 10,
            prev_close=stock.prev_close / 10,
            last_time=stock.last_time,
            volume=float(stock.volume),
            turnover=stock.turnover / 10,
            ticks=stock.ticks,
            ups=stock.ups,
            downs=stock.downs,
        )

    def morning(self, key: str) -> list[MorningTick]:
        """The trades of ``key``'s session from the 09:00 open to when the market first made it
        (none if that was before the open), synthesized once: a market started mid-day still has its
        morning, for a tick store or a chart to fill from. With a ``seed`` they are the same each run."""
        ticks = self._mornings.get(key)
        if ticks is None:
            stock = self._stock(key)
            rng = random.Random(f"{self._seed}/{key}/morning") if self._seed is not None else random.Random()
            ticks = self._mornings[key] = _synthesize_morning(stock, rng)
        return ticks

    def last_price(self, key: str) -> float:
        """The last traded price of ``key`` in yen (what a position is valued at)."""
        return self._stock(key).last / 10

    def now(self) -> datetime:
        """The market's clock (a fixed one in tests)."""
        return self._clock()

    def step(self, key: str) -> None:
        """Advance ``key`` by one market event."""
        self._stock(key).step(_stamp(self._clock()))

    def jump(self, key: str, price: float) -> None:
        """Move ``key``'s best bid to ``price`` (yen, kept within the daily limits), so its next trades
        are there: a price that crosses an alert's threshold on demand, for tests and demos."""
        stock = self._stock(key)
        tenths = snap(round(price * 10))
        stock.bid = min(max(tenths, tick_up(stock.lower)), tick_down(tick_down(stock.upper)))

    def hold(self, key: str, state: str) -> None:
        """Hold ``key`` in a board state (:data:`~.states.HELD_STATES`; ``"none"`` lets it go):
        a limit moves its price there first, with a trade."""
        stock = self._stock(key)
        stock.held = None if state == "none" else state
        if state in ("limit-up", "limit-down"):
            stock.bid, price = limit_book(stock.upper, stock.lower, state)
            stock.status = UP if price > stock.last else DOWN if price < stock.last else SAME
            stock.price_status = CURRENT
            stock._trade(price, TRADING_UNIT, _stamp(self._clock()))

    def board(self, key: str) -> Board:
        """The current ``BoardSuccess`` snapshot of ``key``."""
        return self._stock(key).board()

    def frame(self, key: str) -> bytes:
        """Advance ``key`` one event and return its PUSH frame as JSON bytes."""
        stock = self._stock(key)
        stock.step(_stamp(self._clock()))
        return _encoder.encode(stock.board())

    def symbol(self, key: str, addinfo: bool = True) -> SymbolInfo:
        """The ``SymbolSuccess`` answer for ``key``."""
        stock = self._stock(key)
        listing = stock.listing
        info = SymbolInfo(
            Symbol=listing.code,
            SymbolName=listing.name,
            DisplayName=listing.name,
            Exchange=listing.exchange,
            ExchangeName=EXCHANGE_NAME,
            BisCategory=listing.sector,
            TradingUnit=float(TRADING_UNIT),
            PriceRangeGroup="10003",  # the TOPIX100 tick table, see the module docstring
            **margin_flags(listing.code),
            UpperLimit=stock.upper / 10,
            LowerLimit=stock.lower / 10,
        )
        if addinfo:
            info.TotalMarketValue = stock.last / 10 * listing.shares * 1000
            info.TotalStocks = float(listing.shares)
            info.FiscalYearEndBasic = _next_fiscal_end(self._clock(), listing.fiscal_end)
        return info


def _next_fiscal_end(now: datetime, mmdd: str) -> int:
    """``FiscalYearEndBasic``: the coming fiscal year end as ``YYYYMMDD``."""
    today = now.astimezone(JST).date()
    year = today.year if f"{today:%m%d}" <= mmdd else today.year + 1
    return int(f"{year}{mmdd}")
