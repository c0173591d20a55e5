"""The demo market's synthesized morning: a market started mid-day still has its session from 09:00."""

from __future__ import annotations

import itertools
from datetime import datetime, time

from quoteboard.history.candles import Tick, build_candles
from quoteboard.history.demo import morning_ticks
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.clock import phase_at
from quoteboard.server.market import JST, MORNING_SPACING, Market
from quoteboard.server.ticks import on_grid

STARTED = datetime(2026, 11, 25, 13, 40, 5, tzinfo=JST)


def test_the_morning_runs_from_the_open_to_the_start_and_ends_where_the_board_is():
    market = Market(seed=3, clock=lambda: STARTED)
    ticks = market.morning("7203@1")
    board = market.board("7203@1")
    assert datetime.fromtimestamp(ticks[0].time, JST).time() == time(9, 0)
    assert ticks[0].price == board.OpeningPrice
    assert STARTED.timestamp() - MORNING_SPACING < ticks[-1].time <= STARTED.timestamp()
    assert ticks[-1].price == board.CurrentPrice
    assert ticks[-1].volume == board.TradingVolume
    assert board.VWAP is not None and abs(ticks[-1].vwap - board.VWAP) < 0.01
    # Trades only while the session trades: none over lunch.
    assert all(phase_at(datetime.fromtimestamp(tick.time, JST)).trading for tick in ticks)
    assert all(later.volume >= earlier.volume for earlier, later in itertools.pairwise(ticks))
    assert all(on_grid(round(tick.price * 10)) for tick in ticks)
    # The day's high and low the board shows take the morning in.
    assert board.HighPrice == max(tick.price for tick in ticks)
    assert board.LowPrice == min(tick.price for tick in ticks)
    # From 09:00 to 11:30 and from 12:30 to 13:40: a one-minute candle for every minute.
    assert len(build_candles([Tick(*tick) for tick in ticks], "1m")) == 150 + 71


def test_a_seeded_morning_is_the_same_each_run_and_asked_twice():
    first = Market(seed=5, clock=lambda: STARTED)
    second = Market(seed=5, clock=lambda: STARTED)
    assert first.morning("6758@1") == second.morning("6758@1") == first.morning("6758@1")
    assert first.morning("6758@1") != Market(seed=6, clock=lambda: STARTED).morning("6758@1")


def test_a_market_started_before_the_open_has_no_morning():
    early = datetime(2026, 11, 25, 8, 30, tzinfo=JST)
    assert Market(seed=1, clock=lambda: early).morning("7203@1") == []
    assert Market(seed=1, clock=lambda: early, day=True).morning("7203@1") == []


def test_morning_ticks_of_a_test_server_are_the_clients_ticks():
    server = TestServer(seed=2)
    server.kabu.market = Market(seed=2, clock=lambda: STARTED)
    ticks = morning_ticks(server, SymbolKey("7203"))
    raw = server.kabu.market.morning("7203@1")
    assert [(t.time, t.price, t.volume, t.vwap) for t in ticks] == [tuple(t) for t in raw]
    assert morning_ticks(server, SymbolKey("0000")) == []  # not listed: nothing made up
