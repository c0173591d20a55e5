"""The simulated market on its own: tick grid, price invariants, determinism, the catalogue."""

from __future__ import annotations

import itertools
from datetime import datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quoteboard.server.catalogue import CATALOGUE, find
from quoteboard.server.market import JST, Market
from quoteboard.server.ticks import on_grid, price_limit, tick_above, tick_down, tick_size, tick_up
from tests.schemas import properties, validate

FIXED = datetime(2022, 4, 4, 10, 30, 0, tzinfo=JST)
DERIVATIVES_ONLY = {"ClearingPrice", "IV", "Gamma", "Theta", "Vega", "Delta"}


def tenths(yen: float) -> int:
    return round(yen * 10)


def test_tick_table_is_topix100_with_band_bounds_in_the_lower_band():
    # 1,000 yen and below: 0.1; to 3,000: 0.5; to 10,000: 1; to 30,000: 5; to 100,000: 10.
    assert tick_size(tenths(999.9)) == 1 and tick_size(tenths(1000)) == 1
    assert tick_above(tenths(1000)) == 5
    assert tick_down(tenths(3000)) == tenths(2999.5)
    assert tick_up(tenths(3000)) == tenths(3001)
    assert tick_up(tenths(9999)) == tenths(10000) and tick_up(tenths(10000)) == tenths(10005)
    assert tick_size(tenths(60000)) == tenths(10)
    assert on_grid(tenths(999.9)) and on_grid(tenths(1000.5)) and on_grid(tenths(3001))
    assert not on_grid(tenths(1000.3)) and not on_grid(tenths(3000.5))


@given(st.integers(min_value=1, max_value=100_000_000))
def test_one_tick_up_then_down_comes_back_on_the_grid(raw):
    price = max(raw - raw % tick_size(raw), 1)  # round down onto the grid
    assert on_grid(price)
    assert on_grid(tick_up(price)) and tick_up(price) > price
    assert tick_down(tick_up(price)) == price
    if price > 1:
        assert tick_up(tick_down(price)) == price


def test_price_limits_follow_the_tse_table():
    assert price_limit(tenths(2851)) == tenths(500)
    assert price_limit(tenths(150)) == tenths(50)
    assert price_limit(tenths(60000)) == tenths(10000)


def boards(market: Market, key: str, steps: int) -> list[dict]:
    out = []
    for _ in range(steps):
        out.append(msgspec.json.decode(market.frame(key)))
    return out


def assert_board_consistent(board: dict) -> None:
    prices = [board[f] for f in ("CurrentPrice", "OpeningPrice", "HighPrice", "LowPrice", "PreviousClose")]
    sells = [board[f"Sell{i}"] for i in range(1, 11)]
    buys = [board[f"Buy{i}"] for i in range(1, 11)]
    for price in prices + [level["Price"] for level in sells + buys]:
        assert abs(price * 10 - round(price * 10)) < 1e-6, price
        assert on_grid(tenths(price)), price
    assert board["LowPrice"] <= board["CurrentPrice"] <= board["HighPrice"]
    assert board["LowPrice"] <= board["OpeningPrice"] <= board["HighPrice"]
    assert board["LowPrice"] <= board["VWAP"] <= board["HighPrice"]
    # Kabu's reversed naming: "Bid" is the best sell quote, "Ask" the best buy quote.
    assert board["BidPrice"] == sells[0]["Price"] and board["BidQty"] == sells[0]["Qty"]
    assert board["AskPrice"] == buys[0]["Price"] and board["AskQty"] == buys[0]["Qty"]
    assert tenths(board["BidPrice"]) == tick_up(tenths(board["AskPrice"]))
    for lower, upper in itertools.pairwise(sells):
        assert tenths(upper["Price"]) == tick_up(tenths(lower["Price"]))
    for upper, lower in itertools.pairwise(buys):
        assert tenths(lower["Price"]) == tick_down(tenths(upper["Price"]))
    assert all(level["Qty"] > 0 and level["Qty"] % 100 == 0 for level in sells + buys)
    assert board["ChangePreviousClose"] == round(board["CurrentPrice"] - board["PreviousClose"], 1)
    assert board["TradingVolume"] % 100 == 0 and board["TradingValue"] > 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), key=st.sampled_from(sorted(CATALOGUE)))
def test_every_step_keeps_the_board_consistent(seed, key):
    market = Market(seed=seed, clock=lambda: FIXED)
    info = market.symbol(key)
    previous = None
    for board in boards(market, key, 150):
        assert_board_consistent(board)
        assert info.LowerLimit <= board["LowPrice"] and board["HighPrice"] <= info.UpperLimit
        if previous is not None:
            assert board["TradingVolume"] > previous["TradingVolume"]
            assert board["TradingValue"] > previous["TradingValue"]
            assert board["HighPrice"] >= previous["HighPrice"] and board["LowPrice"] <= previous["LowPrice"]
            moved = board["CurrentPrice"] - previous["CurrentPrice"]
            expected = "0057" if moved > 0 else "0058" if moved < 0 else "0056"
            assert board["CurrentPriceChangeStatus"] == expected
        previous = board


def test_a_long_session_stays_within_the_daily_limits():
    market = Market(seed=3, clock=lambda: FIXED)
    info = market.symbol("9432@1")  # 150 yen: the finest ticks, the easiest to walk far
    for _ in range(20_000):
        market.step("9432@1")
    board = msgspec.to_builtins(market.board("9432@1"))
    assert_board_consistent(board)
    assert info.LowerLimit <= board["LowPrice"] and board["HighPrice"] <= info.UpperLimit


def test_board_has_every_stock_field_of_the_official_schema():
    board = msgspec.to_builtins(Market(seed=1, clock=lambda: FIXED).board("7203@1"))
    validate(board, "BoardSuccess", strict=True)
    assert set(board) == properties("BoardSuccess") - DERIVATIVES_ONLY
    assert board["Symbol"] == "7203" and board["SymbolName"] == "トヨタ自動車"
    assert board["CurrentPriceTime"] == "2022-04-04T10:30:00+09:00"
    assert board["OpeningPriceTime"] == "2022-04-04T09:00:00+09:00"
    assert board["PreviousCloseTime"] == "2022-04-01T00:00:00+09:00"  # Monday: Friday's close
    assert board["CurrentPriceStatus"] == 1 and board["SecurityType"] == 1


def test_symbol_info_matches_schema_and_addinfo_false_leaves_out_the_extras():
    market = Market(seed=1, clock=lambda: FIXED)
    full = msgspec.to_builtins(market.symbol("9433@1"))
    validate(full, "SymbolSuccess", strict=True)
    assert full["SymbolName"] == "ＫＤＤＩ" and full["FiscalYearEndBasic"] == 20230331
    assert full["TotalStocks"] > 0 and full["TotalMarketValue"] > 0
    lean = msgspec.to_builtins(market.symbol("9433@1", addinfo=False))
    validate(lean, "SymbolSuccess", strict=True)
    assert not {"TotalMarketValue", "TotalStocks", "FiscalYearEndBasic"} & set(lean)


def test_same_seed_same_snapshots_whatever_else_is_asked_for():
    first = Market(seed=42, clock=lambda: FIXED)
    second = Market(seed=42, clock=lambda: FIXED)
    a = [first.frame("6758@1") for _ in range(50)]
    b = []
    for _ in range(50):
        second.step("7203@1")  # other symbols moving must not change 6758's path
        b.append(second.frame("6758@1"))
    assert a == b
    assert Market(seed=43, clock=lambda: FIXED).frame("6758@1") != a[0]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("7203", "トヨタ自動車"),
        ("9433", "ＫＤＤＩ"),
        ("6758", "ソニーグループ"),
        ("8306", "三菱ＵＦＪフィナンシャル・グループ"),
        ("7741", "ＨＯＹＡ"),
        ("3382", "セブン＆アイ・ホールディングス"),
        ("8316", "三井住友フィナンシャルグループ"),
        ("9983", "ファーストリテイリング"),
    ],
)
def test_catalogue_uses_official_names(code, name):
    listing = find(code, 1)
    assert listing is not None and listing.name == name


def test_catalogue_is_big_enough_to_hit_the_registration_cap():
    assert len(CATALOGUE) > 50
    assert find("7203", 3) is None and find("0000", 1) is None
    assert all(listing.code.isdigit() and len(listing.code) == 4 for listing in CATALOGUE.values())
