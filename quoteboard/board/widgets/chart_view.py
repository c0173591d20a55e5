"""The chart widget: one symbol's candles, drawn on the line API from :mod:`..chart_layout`.

The picture is laid out once per change (:meth:`ChartView.show`) into a Strip per line, kept until the
next change or a resize; Textual then asks for lines from that list. Up and down take the board's
``$quote-up``/``$quote-down`` colours, so the colour-blind palette (or another) applies here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from quoteboard.board.chart_layout import ChartText, Ink, draw_chart
from quoteboard.history.candles import Candle

__all__ = ["ChartView", "chart_strips"]


def chart_strips(
    candles: Sequence[Candle], width: int, height: int, text: ChartText, style: Callable[[Ink], Style]
) -> list[Strip]:
    """The chart laid out at ``width`` x ``height``, a Strip a line, each run in ``style(ink)``."""
    return [
        Strip([Segment(run, style(ink)) for run, ink in runs], width).adjust_cell_length(width)
        for runs in draw_chart(candles, width, height, text)
    ]


class ChartView(Widget):
    """Candles, volume bars, the previous close and the VWAP, with a price and a JST time axis."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart--up",
        "chart--down",
        "chart--volume-up",
        "chart--volume-down",
        "chart--vwap",
        "chart--previous",
        "chart--axis",
        "chart--title",
    }

    DEFAULT_CSS = """
    ChartView { background: $surface; height: 1fr; }
    ChartView > .chart--up { color: $quote-up-text; }
    ChartView > .chart--down { color: $quote-down-text; }
    ChartView > .chart--volume-up { color: $quote-up; }
    ChartView > .chart--volume-down { color: $quote-down; }
    ChartView > .chart--vwap { color: $foreground; }
    ChartView > .chart--previous { color: $text-muted; }
    ChartView > .chart--axis { color: $text-muted; }
    ChartView > .chart--title { text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._candles: Sequence[Candle] = ()
        self._text = ChartText()
        self._lines: list[Strip] = []
        self._drawn_for: tuple[int, int] | None = None
        self._styles: dict[Ink, Style] = {}
        #: Full redraws so far (the benchmark and the tests count them).
        self.redraws = 0

    def show(self, candles: Sequence[Candle], text: ChartText) -> None:
        """Draw ``candles`` (oldest first) with ``text`` round them, on the next refresh."""
        self._candles = candles
        self._text = text
        self._drawn_for = None
        self.refresh()

    @property
    def lines(self) -> list[str]:
        """The chart as plain text, line by line, as last drawn (for tests)."""
        return [strip.text for strip in self._lines]

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._drawn_for != (width, height):
            self.redraw(width, height)
        return self._lines[y] if y < len(self._lines) else Strip.blank(width, self.rich_style)

    def redraw(self, width: int, height: int) -> None:
        """Lay the whole chart out again at ``width`` x ``height``."""
        self.redraws += 1
        self._drawn_for = (width, height)
        self._lines = chart_strips(self._candles, width, height, self._text, self._style)

    def _style(self, ink: Ink) -> Style:
        # Resolved once until the CSS changes: rich_style walks the ancestors, too slow for each run.
        style = self._styles.get(ink)
        if style is None:
            base = self.rich_style
            style = (
                base
                if ink == "plain"
                else base + self.get_component_rich_style(f"chart--{ink}", partial=True)
            )
            self._styles[ink] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.forget_styles()

    def forget_styles(self) -> None:
        """Drop the resolved styles and draw again (the palette changed)."""
        self._styles.clear()
        self._drawn_for = None
        self.refresh()
