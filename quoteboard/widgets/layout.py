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

from typing import Any

from textual.containers import Horizontal, Vertical
from textual.screen import Screen

__all__ = ["BoardScreen", "BottomBars", "MainRow", "SideColumn", "TopBar"]


class BoardScreen(Screen[Any]):
    """The board's screen: its widgets cover it whole."""

    BLANK = True


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
