"""The quote table's lines, and the shortcuts taken to draw them: each draws what Textual's own way would."""

from __future__ import annotations

from pathlib import Path

from textual.filter import ANSIToTruecolor
from textual.geometry import Region

from quoteboard.kabu.protocol import SymbolKey
from quoteboard.widgets.depth_view import DepthView
from tests.app_support import frozen_demo_server, make_app, wait_for

SYMBOLS = [SymbolKey(code) for code in ("7203", "9433", "6758", "9984", "8306")]


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
