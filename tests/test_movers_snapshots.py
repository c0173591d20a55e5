"""Snapshots of the movers view (m) on the frozen, seeded market, under each palette, at 160x48 and
80x24 (pytest-textual-snapshot). Look at every picture before ``--snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.colours import PALETTES
from tests.app_support import FROZEN_AT, wait_for
from tests.test_snapshots import SIZE, SMALL, fixed_clock, frozen_board, settled

__all__ = ["fixed_clock"]  # the status bar's clock, pinned for every test here


def open_movers(palette: str, keys: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settled(pilot)
        app.set_palette(palette, save=False)
        app.screen.movers._clock = lambda: FROZEN_AT  # the time of the answer, on the title line
        await pilot.press("m", *keys)
        book = app.widgets.movers.book
        number = book.type_number

        def answered() -> bool:
            shown = book.shown
            return shown is not None and shown.note is None and shown.ranking.type.number == number

        await wait_for(pilot, answered, what="the ranking answered")
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("palette", PALETTES)
@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["160x48", "80x24"])
def test_movers_view(snap_compare, tmp_path: Path, palette: str, size: tuple[int, int]) -> None:
    assert snap_compare(frozen_board(tmp_path), terminal_size=size, run_before=open_movers(palette))


def test_movers_view_of_a_sector_ranking(snap_compare, tmp_path: Path) -> None:
    keys = ("left", "left")  # round from type 1 to 15, then 14: the sectors that rose
    assert snap_compare(frozen_board(tmp_path), terminal_size=SMALL, run_before=open_movers("theme", keys))
