"""Snapshots of the board and the positions view under the Japanese and colour-blind palettes (the
theme's are tests/test_snapshots.py's), on the same frozen market. Update as said there."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.colours import Palette
from tests.app_support import frozen_demo_server, make_app
from tests.test_snapshots import (
    SIZE,
    SMALL,
    SYMBOLS,
    frozen_demo_server_with_positions,
    open_positions,
    settled_after,
)
from tests.test_snapshots import fixed_clock as fixed_clock  # autouse: the status bar's time


def board(tmp_path: Path, palette: Palette, *, positions: bool = False):
    server = frozen_demo_server_with_positions if positions else frozen_demo_server
    return make_app(tmp_path, demo_server=server, symbols=SYMBOLS, palette=palette)


#: Two rows down, then the card of that row read: a snapshot taken while it reads differs.
down_twice = settled_after("down", "down")


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["160x48", "80x24"])
def test_board_under_the_japanese_palette(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = board(tmp_path, "japanese")
    assert snap_compare(app, terminal_size=size, run_before=down_twice)


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["160x48", "80x24"])
def test_positions_under_the_japanese_palette(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = board(tmp_path, "japanese", positions=True)
    assert snap_compare(app, terminal_size=size, run_before=open_positions)


def test_board_under_the_colour_blind_palette(snap_compare, tmp_path: Path) -> None:
    app = board(tmp_path, "colour-blind")
    assert snap_compare(app, terminal_size=SIZE, run_before=down_twice)


def test_positions_under_the_colour_blind_palette(snap_compare, tmp_path: Path) -> None:
    app = board(tmp_path, "colour-blind", positions=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_positions)
