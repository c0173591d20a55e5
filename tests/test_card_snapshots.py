"""Snapshots of the symbol card (pytest-textual-snapshot) under each palette, beside the table
(160x48) and under it (80x24): 9984's card, with a stopped stock loan among its regulations."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.colours import PALETTES
from quoteboard.kabu.protocol import SymbolKey
from tests.app_support import frozen_demo_server, make_app
from tests.test_snapshots import SIZE, SMALL, SYMBOLS, fixed_clock, settled

__all__ = ["fixed_clock"]  # the status bar's clock, pinned for every test here


@pytest.mark.parametrize("palette", PALETTES)
@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["160x48", "80x24"])
def test_the_card_of_a_regulated_symbol(snap_compare, tmp_path: Path, palette, size) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)

    async def highlight_9984(pilot) -> None:
        await settled(pilot)
        pilot.app.set_palette(palette, save=False)
        pilot.app.table.move_cursor_to(SymbolKey("9984"))
        await settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=highlight_9984)
