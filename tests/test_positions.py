"""P&L of positions against numbers worked out by hand, and KabuRest.positions against the real test
server (and, for answers it can't make, httpx.MockTransport)."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest

from quoteboard.board.positions import PositionBook, profit_loss
from quoteboard.kabu.errors import KabuError, StationUnreachable
from quoteboard.kabu.positions import Position, parse_positions
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.server import TestServer
from quoteboard.server.portfolio import Holding
from tests.schemas import REPO_ROOT


def position(code: str, side: str, qty: float, price: float) -> Position:
    return Position(code=code, exchange=1, side=side, qty=qty, price=price, name=code)


LONG = position("7203", "2", 300, 2750)  # bought 300 at 2,750
SHORT = position("9984", "1", 100, 9620)  # sold short 100 at 9,620


def test_long_pnl_is_last_minus_average_times_quantity():
    # 300 x (2,812.5 - 2,750) = 300 x 62.5 = 18,750 yen; 18,750 / 825,000 = 2.2727...%
    assert profit_loss(LONG, 2812.5) == 18_750
    assert profit_loss(LONG, 2700) == -15_000  # 300 x -50


def test_short_pnl_is_average_minus_last_times_quantity():
    # 100 x (9,620 - 9,500) = 12,000 yen: a short gains when the price falls.
    assert profit_loss(SHORT, 9500) == 12_000
    assert profit_loss(SHORT, 9700) == -8_000  # 100 x -80


def test_book_rows_percentages_and_totals():
    book = PositionBook()
    book.replace([LONG, SHORT])
    assert book.keys == [SymbolKey("7203"), SymbolKey("9984")]
    assert book.take_dirty()
    assert book.totals().unpriced == 2 and book.totals().pnl == 0
    assert book.unpriced == 2 and book.unpriced_keys() == [SymbolKey("7203"), SymbolKey("9984")]
    book.apply(SymbolKey("7203"), 2812.5)
    book.apply(SymbolKey("9984"), 9700)
    book.apply(SymbolKey("6758"), 1.0)  # not held: ignored
    long_row, short_row = book.rows
    assert long_row.pnl == 18_750 and long_row.pnl_pct == pytest.approx(18_750 / 825_000 * 100)
    assert short_row.pnl == -8_000 and short_row.pnl_pct == pytest.approx(-8_000 / 962_000 * 100)
    assert book.unpriced == 0 and book.unpriced_keys() == []
    totals = book.totals()
    assert totals.pnl == 10_750 and totals.cost == 825_000 + 962_000 and totals.unpriced == 0
    assert totals.pnl_pct == pytest.approx(10_750 / 1_787_000 * 100)
    assert book.take_dirty() and not book.take_dirty()
    book.apply(SymbolKey("7203"), 2812.5)  # the same price: nothing to repaint
    assert not book.take_dirty()


def test_several_lots_of_one_symbol_all_follow_its_price_and_reloading_keeps_prices():
    book = PositionBook()
    lots = [position("8306", "2", 100, 1800), position("8306", "1", 200, 1900)]
    book.replace(lots)
    book.apply(SymbolKey("8306"), 1850)
    assert [row.pnl for row in book.rows] == [5_000, 10_000]
    book.replace([*lots, LONG], last_of=lambda key: 2750 if key == SymbolKey("7203") else None)
    assert [row.last for row in book.rows] == [1850, 1850, 2750]
    assert book.totals().pnl == 15_000


def test_parse_positions_reads_kabus_example_and_refuses_an_unknown_side():
    example = b'[{"ExecutionID": "E1", "Symbol": "8306", "SymbolName": "MUFG", "Exchange": 1, "Price": 704,'
    example += b' "LeavesQty": 500, "HoldQty": 0, "Side": "1", "CurrentPrice": 414.5}]'
    (only,) = parse_positions(example)
    assert (only.key, only.name, only.long, only.qty, only.price) == (
        SymbolKey("8306"),
        "MUFG",
        False,
        500,
        704,
    )
    with pytest.raises(ValueError, match="Side '3'"):
        parse_positions(example.replace(b'"Side": "1"', b'"Side": "3"'))


async def test_kabu_rest_positions_from_the_real_test_server():
    holdings = (Holding("7203", "long", 300, 2750.0), Holding("9984", "short", 100, 9620.0))
    async with TestServer(seed=1, rate_limit=None, portfolio=holdings) as srv, KabuRest(srv.base_url) as rest:
        got = await rest.positions()
    assert [(p.key, p.long, p.qty, p.price, p.name) for p in got] == [
        (SymbolKey("7203"), True, 300, 2750, "トヨタ自動車"),
        (SymbolKey("9984"), False, 100, 9620, "ソフトバンクグループ"),
    ]


async def test_kabu_rest_positions_errors_come_through_the_hierarchy():
    def refusing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"ResultCode": 0, "Token": "t"})
        assert request.url.params["product"] == "0"
        return httpx.Response(500, json={"Code": 4001001, "Message": "内部エラー"})

    async with KabuRest("http://station.test/kabusapi", transport=httpx.MockTransport(refusing)) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.positions()
    assert caught.value.code == 4001001
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    async with KabuRest(f"http://127.0.0.1:{port}/kabusapi") as rest:
        with pytest.raises(StationUnreachable):
            await rest.positions()


def test_the_pnl_core_imports_no_io_or_ui_library():
    code = (
        "import sys, quoteboard.kabu.positions, quoteboard.board.positions, quoteboard.board.colours; "
        "assert quoteboard.board.positions.__file__.startswith(sys.argv[1]); "
        "bad = [m for m in ('asyncio', 'httpx', 'websockets', 'textual') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    root = str(REPO_ROOT)
    argv = [sys.executable, "-c", code, root]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == ""
