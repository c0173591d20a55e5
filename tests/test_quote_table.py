"""The quote table's lines, and the shortcuts taken to draw them: each draws what Textual's own way would."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from rich.cells import cell_len
from textual.filter import ANSIToTruecolor
from textual.geometry import Region
from textual.widget import Widget

from quoteboard.board.widgets.columns import COLUMNS, GAP, Column, choose_columns, fit_cell, format_price
from quoteboard.board.widgets.depth_view import DepthView
from quoteboard.kabu.protocol import SymbolKey
from tests.app_support import frozen_demo_server, make_app, table_lines, wait_for

SYMBOLS = [SymbolKey(code) for code in ("7203", "9433", "6758", "9984", "8306")]


def textuals(table: Widget) -> list[list[object]]:
    """The table's lines as Textual's own rendering makes them (through render_line)."""
    table._styles_cache.clear()
    return [list(strip) for strip in Widget.render_lines(table, Region(0, 0, *table.size))]


def ours(table: Widget) -> list[list[object]]:
    return [list(strip) for strip in table.render_lines(Region(0, 0, *table.size))]


@pytest.mark.parametrize("size", [(160, 48), (90, 20)], ids=["wide", "narrow-and-short"])
async def test_the_tables_lines_are_the_ones_textual_would_draw(tmp_path: Path, size) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        await wait_for(pilot, lambda: not any("waiting" in line for line in table_lines(app)))
        table = app.table
        assert ours(table) == textuals(table)  # header, rows, the cursor's row, blank lines
        # A flashing row, and (narrow) scrolled sideways.
        row = app.board.rows[SymbolKey("9433")]
        app.board.apply(msgspec.structs.replace(row.quote, last=row.quote.last + 5))
        app._frame()
        if table.virtual_size.width > table.scrollable_content_region.width:
            table.scroll_to(x=7, animate=False)
            await pilot.pause(0.1)
            assert round(table.scroll_x) == 7
        assert ours(table) == textuals(table)


async def test_the_ansi_to_truecolor_filter_left_out_would_change_nothing(tmp_path: Path) -> None:
    """The table and the depth view leave ANSIToTruecolor out of their line filters: their styles
    come from CSS, truecolor outside an ANSI theme, which the filter leaves as they are."""
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        await pilot.press("down")
        await wait_for(pilot, lambda: app.panel.shown_key == SymbolKey("9433"), what="the depth view")
        ansi = next(f for f in app._filters if isinstance(f, ANSIToTruecolor))
        assert ansi.enabled
        for widget in (app.table, app.query_one(DepthView)):
            assert not any(isinstance(f, ANSIToTruecolor) for f in widget.get_line_filters())
            _, background = widget.background_colors
            lines = widget.render_lines(Region(0, 0, *widget.size))
            assert [list(line.apply_filter(ansi, background)) for line in lines] == [
                list(line) for line in lines
            ]


async def test_a_style_textual_would_apply_to_the_lines_is_applied(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        table = app.table
        plain = ours(table)
        table.styles.tint = "red 30%"
        await pilot.pause(0.1)
        tinted = ours(table)
        assert tinted == textuals(table) and tinted != plain


@pytest.mark.parametrize(
    ("text", "width", "right"),
    [("2,748.5", 10, True), ("387,000", 13, True), ("7203@1", 8, False), ("123456789012", 8, True),
     ("トヨタ自動車", 10, False), ("三菱ＵＦＪフィナンシャル・グループ", 28, False), ("", 8, True),
     ("ソフトバンクグループ", 16, False), ("Toyota Motor Corp", 10, False),
     ("\x1b[31m", 8, False)],
)  # fmt: skip
def test_a_cell_is_padded_or_cut_to_its_width_in_terminal_cells(text: str, width: int, right: bool) -> None:
    cells = cell_len(text)
    cell = fit_cell(text, width, right)
    assert cell_len(cell) == width
    if cells > width:  # cut at a cell boundary, and said to be cut
        cut = cell.rstrip(" ")
        assert cut.endswith("…") and text.startswith(cut[:-1]) and cell_len(cut) >= width - 2, cell
    else:
        assert cell == (" " * (width - cells) + text if right else text + " " * (width - cells))


ALL = ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask", "Volume", "Time"]


@pytest.mark.parametrize(
    ("width", "titles", "name_width"),
    [
        # The table's own width on an 80, 100 and 120-column screen (the panel below it, the
        # scrollbar's two cells taken) and on a 160-column one (beside the 44-cell panel).
        (78, ["Code", "Name", "Last", "St", "Chg", "Chg%", "Bid", "Ask"], 13),
        (98, ALL, 10),
        (118, ALL, 28),
        (114, ALL, 26),
        (40, ["Code", "Last", "Chg", "Chg%"], None),
        (10, ["Code", "Last"], None),  # too narrow for anything: the two that always show
    ],
)
def test_the_columns_shown_are_the_most_important_that_fit(width: int, titles, name_width) -> None:
    shown = choose_columns(width)
    assert [column.title for column, _ in shown] == titles
    widths = {column.title: w for column, w in shown}
    assert widths.get("Name") == name_width
    # Every column but Name keeps its full width (a number is never cut), and all fit.
    assert all(w == column.width for column, w in shown if column.title != "Name")
    if len(shown) > 2:
        assert sum(w + GAP for _, w in shown) <= width


def test_a_column_is_one_entry_in_the_column_table() -> None:
    extra = Column("Open", 10, 6, "open", format_price)
    assert [c.title for c, _ in choose_columns(200, (*COLUMNS, extra))] == [*ALL, "Open"]
    assert [c.title for c, _ in choose_columns(104, (*COLUMNS, extra))] == ALL
