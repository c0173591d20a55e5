"""The board's containers: they draw nothing of their own, and keep each repaint to its own area.

When any line of the screen changes, Textual renders every widget whose *clip* overlaps the
changed region, each one whole: a widget's clip is its container's area, and for a widget placed
on the screen itself, the whole screen. With the table beside the panel in one row and the status
bar and the footer on the screen, every repaint of a table row (20 a second at Kabu's pace) went
through the screen, the row, the table, the panel, the status bar and the footer, 250 lines in all.
Here the screen and the containers are ``BLANK`` (nothing to draw, so Textual hands back blank
lines at once), and the panel and the bars each sit in a container of their own, so that a repaint
of the table leaves them out.
"""

from __future__ import annotations

from typing import Final

from textual.containers import Horizontal, Vertical

from quoteboard.board.widgets.columns import COLUMNS, GAP

__all__ = ["SIDE_BY_SIDE_FROM", "BottomBars", "MainRow", "SideColumn", "TopBar"]

#: The register panel's column (``#side`` in quoteboard.tcss) and the table's scrollbar.
SIDE_WIDTH: Final = 44
SCROLLBAR: Final = 2
#: From this many columns the panel sits beside a table that still shows every column; on a
#: narrower screen (an 80x24 console) it moves under the table, its input and outcome one line each.
SIDE_BY_SIDE_FROM: Final = SIDE_WIDTH + sum(column.width + GAP for column in COLUMNS) + SCROLLBAR


class MainRow(Horizontal):
    """The table and the side column, which cover it whole."""

    BLANK = True


class SideColumn(Vertical):
    """The register panel's column: the panel's clip is this, not the whole row."""

    BLANK = True


class BottomBars(Vertical):
    """The status bar and the footer: their clip is this, not the whole screen."""

    BLANK = True


class TopBar(Vertical):
    """The watchlists' tabs: their clip is this, not the whole screen."""

    BLANK = True
