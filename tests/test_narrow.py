"""The board on a small screen (80x24, a default Windows console): what matters shows, nothing is cut."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quoteboard.board.widgets.columns import format_price, format_signed
from quoteboard.board.widgets.positions_view import POSITION_COLUMNS, choose_position_columns
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO
from tests.app_support import frozen_demo_server, make_app, screen_text, table_lines, wait_for

SYMBOLS = [SymbolKey(code) for code in ("7203", "8306", "9984")]


def quoted(app) -> bool:
    return all(row.quote is not None for row in app.board) and not any(
        "waiting" in line for line in table_lines(app)
    )


@pytest.mark.parametrize(
    ("size", "titles", "panel_beside"),
    [
        ((80, 24), ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask"], False),
        ((100, 30), ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask", "Volume", "Time"], False),
        ((120, 30), ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask", "Volume", "Time"], False),
        ((160, 48), ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask", "Volume", "Time"], True),
    ],
)
async def test_the_table_shows_the_columns_that_fit_and_the_panel_moves_under_it(
    tmp_path: Path, size, titles, panel_beside
) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: quoted(app), what="every row drawn")
        assert app.table.shown_columns == titles
        assert table_lines(app)[0].split() == titles
        table, side = app.table.region, app.query_one("#side").region
        assert (side.x >= table.right) == panel_beside and (side.y >= table.bottom) != panel_beside
        # Every price and change in full, in its row.
        for key, line in zip(app.table.order, table_lines(app)[1:], strict=False):
            quote = app.board.rows[key].quote
            for value in (
                format_price(quote.last),
                format_signed(quote.change),
                format_signed(quote.change_pct, "%"),
            ):
                assert f" {value}" in line, (value, line)


async def test_at_80x24_a_shows_the_input_and_the_outcome_is_seen(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: quoted(app), what="every row drawn")
        await pilot.press("a")
        code = app.query_one("#code")
        assert app.focused is code and app.screen.region.contains_region(code.region) and code.region.height
        await pilot.press(*"1111", "enter")
        await wait_for(pilot, lambda: "4002001" in app.panel.outcome, what="the refusal")
        await pilot.pause(0.1)
        outcome = app.query_one("#outcome")
        assert app.screen.region.contains_region(outcome.region) and outcome.region.height
        assert "4002001" in screen_text(app)


def frozen_demo_server_with_positions() -> TestServer:
    server = frozen_demo_server()
    server.kabu.portfolio = DEMO_PORTFOLIO
    return server


@pytest.mark.parametrize("size", [(80, 24), (60, 24), (100, 30)])
async def test_the_positions_show_their_pnl_whole_on_a_small_screen(tmp_path: Path, size) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server_with_positions, symbols=SYMBOLS)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: quoted(app), what="every row drawn")
        await pilot.press("p")
        view = app.positions_view
        await wait_for(pilot, lambda: view.loads and not view.book.unpriced, what="every position priced")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "…" not in re.sub(r"[^\x00-\x7f…]+…", "", text)  # only a name ends in an ellipsis
        header = next(line for line in text.splitlines() if "P&L ¥" in line)
        assert "P&L %" in header and "Last" in header and "Qty" in header
        for row in view.book.rows:
            assert f"{row.pnl:+,.0f}" in text and f"{row.pnl_pct:+.2f}%" in text


WIDTHS = {"Code": 6, "Name": 34, "Side": 5, "Qty": 5, "Average": 7, "Last": 7, "P&L ¥": 7, "P&L %": 6}


@pytest.mark.parametrize(
    ("width", "titles", "name_width"),
    [
        (200, [title for title, _, _ in POSITION_COLUMNS], 34),
        (78, [title for title, _, _ in POSITION_COLUMNS], 19),
        (58, ["Code", "Side", "Qty", "Average", "Last", "P&L ¥", "P&L %"], None),
        (40, ["Code", "Last", "P&L ¥", "P&L %"], None),
        (10, ["Code", "P&L ¥"], None),
    ],
)
def test_the_positions_columns_are_the_most_important_that_fit(width: int, titles, name_width) -> None:
    shown = choose_position_columns(WIDTHS, width)
    assert [title for title, _, _ in shown] == titles
    widths = {title: w for title, _, w in shown}
    assert widths.get("Name") == name_width
    assert all(w == WIDTHS[title] for title, _, w in shown if title != "Name")
