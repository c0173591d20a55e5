"""Snapshot tests of the board on a frozen, seeded market (pytest-textual-snapshot).

The market never moves and nothing is pushed, so every run draws the same screen. After a deliberate
change to the look, run ``pytest tests/test_snapshots.py --snapshot-update``, open the report and look
at every picture before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.controllers.card import NOT_REGISTERED
from quoteboard.board.widgets import status_bar
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO
from tests.app_support import frozen_demo_server, make_app, table_lines, wait_for

SIZE = (160, 48)
SYMBOLS = [SymbolKey(code) for code in ("7203", "9433", "6758", "9984", "8306", "7974", "6861", "4063")]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The status bar shows the local time of the last message; pin it.
    monkeypatch.setattr(status_bar, "clock_text", lambda epoch: "15:00:02")


def frozen_board(tmp_path: Path):
    return make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)


def card_read(app) -> bool:
    """The highlighted row's card is in, every part of it."""
    card, facts = app.panel.card, app.panel.card.facts
    return (
        card.key == app.table.cursor_key
        and facts is not None
        and not facts.reading
        and facts.symbol != NOT_REGISTERED  # (the moment before the row's registration is seen)
    )


async def settled(pilot) -> None:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            all(row.quote is not None for row in app.board)
            and not any("waiting" in line for line in table_lines(app))
            and app.panel.shown_key == app.table.cursor_key
            and card_read(app)
        ),
        what="every row drawn, and the card",
    )
    await pilot.pause(0.6)  # the status bar's next refresh


def settled_after(*keys: str):
    """``settled``, after pressing ``keys`` once the board has settled (the card of the row they
    highlight is read meanwhile)."""

    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press(*keys)
        await settled(pilot)

    return run_before


def test_board_with_the_depth_of_the_highlighted_symbol(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(frozen_board(tmp_path), terminal_size=SIZE, run_before=settled_after("down", "down"))


def test_board_sorted_by_change(snap_compare, tmp_path: Path) -> None:
    async def sort_by_change(pilot) -> None:
        await settled(pilot)
        await pilot.press("s", "s")
        await wait_for(pilot, lambda: card_read(pilot.app), what="the card after the sort")
        await pilot.pause(0.2)

    assert snap_compare(frozen_board(tmp_path), terminal_size=SIZE, run_before=sort_by_change)


def test_help_screen(snap_compare, tmp_path: Path) -> None:
    async def open_help(pilot) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(frozen_board(tmp_path), terminal_size=SIZE, run_before=open_help)


def test_unknown_symbol_in_the_panel(snap_compare, tmp_path: Path) -> None:
    async def add_unknown(pilot) -> None:
        await settled(pilot)
        await pilot.press("a", *"1111", "enter")
        await wait_for(pilot, lambda: "4002001" in pilot.app.panel.outcome)
        await wait_for(pilot, lambda: card_read(pilot.app), what="the card of the row highlighted")
        await pilot.pause(0.2)

    assert snap_compare(frozen_board(tmp_path), terminal_size=SIZE, run_before=add_unknown)


def test_watchlist_tabs_with_the_second_list_shown(snap_compare, tmp_path: Path) -> None:
    from quoteboard.store.watchlist import Watchlist, Watchlists, WatchlistStore

    lists = Watchlists.single(Watchlist(SYMBOLS[:4]))
    lists.create("banks", Watchlist([SymbolKey("8306"), SymbolKey("8316"), SymbolKey("8411")], "change"))
    lists.create("長期保有", Watchlist(SYMBOLS[4:]))
    lists.shown = "banks"
    assert WatchlistStore(tmp_path / "watchlist.toml").save(lists) is None
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def frozen_demo_server_with_positions() -> TestServer:
    server = frozen_demo_server()
    server.kabu.portfolio = DEMO_PORTFOLIO
    return server


async def open_positions(pilot) -> None:
    """``p`` once the board has settled: every position priced, and the card under them read."""
    await settled(pilot)
    await pilot.press("p")
    view = pilot.app.positions_view
    await wait_for(pilot, lambda: view.loads and not view.book.unpriced, what="every position priced")
    await wait_for(pilot, lambda: card_read(pilot.app), what="the card under the positions")
    await pilot.pause(0.2)


def test_positions_view(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server_with_positions, symbols=SYMBOLS)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_positions)


#: A default Windows console and many ssh windows.
SMALL = (80, 24)


def test_board_at_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(frozen_board(tmp_path), terminal_size=SMALL, run_before=settled_after("down"))


def test_positions_view_at_80x24(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server_with_positions, symbols=SYMBOLS)
    assert snap_compare(app, terminal_size=SMALL, run_before=open_positions)


def test_help_screen_at_80x24(snap_compare, tmp_path: Path) -> None:
    async def open_help(pilot) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(frozen_board(tmp_path), terminal_size=SMALL, run_before=open_help)
