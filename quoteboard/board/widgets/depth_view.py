"""The detail of the highlighted symbol: its 10-level book, a sparkline of recent prices, the day's stats.

Asks (the sell side) are listed above, best ask nearest the middle; bids (the buy side) below, best bid
first, the usual way a board reads. Kabu's reversed naming was translated in the decoder, so here
``asks`` really are offers to sell and ``bids`` offers to buy.

It follows a live symbol several times a second, so it is drawn on the line API like the quote table:
:meth:`DepthView.show` lays the view out as lines of plain (text, style) cells and only the lines
whose cells changed are repainted. (Static widgets and Textual's Sparkline render the whole view, and
lay it out, again on each update: too costly several times a second.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.filter import LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from quoteboard.board.model import Row
from quoteboard.board.widgets.columns import format_price, format_qty, format_signed
from quoteboard.board.widgets.table_lines import truecolor_filters
from quoteboard.kabu.protocol import Level, SymbolKey
from quoteboard.kabu.state import Limits, board_state, indicative_price

__all__ = ["DepthView", "depth_lines", "sparkline_rows"]

LEVELS: Final = 10
PRICE_WIDTH: Final = 10
QTY_WIDTH: Final = 11
SPARK_ROWS: Final = 3
SPARK_WIDTH: Final = 40
_BLOCKS: Final = " ▁▂▃▄▅▆▇█"

#: A line is a tuple of cells; a cell is (text, style name). Tuples compare cheaply, so an unchanged
#: line is found without drawing it.
Cell = tuple[str, str]
Line = tuple[Cell, ...]


def _level(label: str, level: Level | None, side: str) -> Line:
    price = format_price(level.price) if level is not None and level.price is not None else ""
    qty = format_qty(level.qty) if level is not None and level.qty is not None else ""
    return ((f"{label:<6}", "label"), (f"{price:>{PRICE_WIDTH}}", side), (f"{qty:>{QTY_WIDTH}}", ""))


def sparkline_rows(values: list[float], width: int = SPARK_WIDTH, rows: int = SPARK_ROWS) -> list[str]:
    """The last ``width`` values as ``rows`` lines of block characters, top line first."""
    values = values[-width:]
    if len(values) < 2:
        return [""] * rows
    low, high = min(values), max(values)
    steps = rows * 8
    span = high - low
    heights = [1 + round((v - low) / span * (steps - 1)) if span else steps // 2 for v in values]
    lines = []
    for r in range(rows - 1, -1, -1):
        lines.append("".join(_BLOCKS[max(0, min(8, h - 8 * r))] for h in heights))
    return lines


def depth_lines(
    row: Row | None, width: int = SPARK_WIDTH, limits: Limits | None = None, note: str | None = None
) -> list[Line]:
    """The whole view as lines: title, the board's state in words (or ``note``: why the limits are
    not known), book, sparkline, stats."""
    if row is None:
        return [(("no symbol highlighted", "label"),)]
    quote = row.quote
    title: Line = ((str(row.key), "title"),)
    if quote is not None and quote.name:
        title += (("  " + quote.name, "title"),)
    if quote is None:
        return [title, (), (("waiting for the first quote…", "label"),)]
    state = board_state(quote, limits)
    said: Line = ((state.words, "state"),) if state is not None else ((note, "label"),) if note else ()
    lines: list[Line] = [title, said]
    asks = quote.asks
    lines += [_level(f"ask{i + 1}" if i else "ask", asks[i], "ask") for i in range(LEVELS - 1, -1, -1)]
    spread = quote.ask - quote.bid if quote.ask is not None and quote.bid is not None else None
    indicative = indicative_price(quote)
    lines.append(
        (
            # Before the first trade, the price the pre-open quotes meet at: said as such.
            (f"{'last' if indicative is None else 'indic.':<6}", "label"),
            (
                f"{format_price(quote.last if indicative is None else indicative):>{PRICE_WIDTH}}",
                "last" if indicative is None else "label",
            ),
            (f"  spread {format_price(spread)}" if spread is not None else "", "label"),
        )
    )
    bids = quote.bids
    lines += [_level(f"bid{i + 1}" if i else "bid", bids[i], "bid") for i in range(LEVELS)]
    lines.append(())
    history = list(row.history)
    trend = "up" if len(history) > 1 and history[-1] >= history[0] else "down"
    lines += [((text, trend),) for text in sparkline_rows(history, width)]
    lines.append(())
    stats = (
        ("Open", format_price(quote.open)),
        ("High", format_price(quote.high)),
        ("Low", format_price(quote.low)),
        ("Prev", format_price(quote.prev_close)),
        ("VWAP", format_price(quote.vwap)),
        ("Chg", format_signed(quote.change)),
        ("Volume", format_qty(quote.volume)),
    )
    lines += [((f"{label:<7}", "label"), (f"{value:>14}", "")) for label, value in stats]
    return lines


class DepthView(Widget):
    """Book, sparkline and stats of one row; :meth:`show` repaints only the lines that changed."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "depth-view--title",
        "depth-view--label",
        "depth-view--ask",
        "depth-view--bid",
        "depth-view--last",
        "depth-view--up",
        "depth-view--down",
        "depth-view--state",
    }

    DEFAULT_CSS = """
    DepthView { height: 35; }
    DepthView > .depth-view--title { text-style: bold; }
    DepthView > .depth-view--label { color: $text-muted; }
    DepthView > .depth-view--ask { color: $quote-down-text; }
    DepthView > .depth-view--bid { color: $quote-up-text; }
    DepthView > .depth-view--last { text-style: bold; }
    DepthView > .depth-view--up { color: $quote-up; }
    DepthView > .depth-view--down { color: $quote-down; }
    DepthView > .depth-view--state { color: $foreground; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key: SymbolKey | None = None
        self._lines: list[Line] = depth_lines(None)
        self._styles: dict[str, Style] = {}

    @property
    def text(self) -> str:
        """What the view shows, as plain text."""
        return "\n".join("".join(text for text, _ in line) for line in self._lines)

    def show(self, row: Row | None, limits: Limits | None = None, note: str | None = None) -> None:
        """Show ``row`` (None clears the view), at the day's ``limits`` when known (``note``: why not)."""
        old = self._lines
        new = depth_lines(row, max(2, min(SPARK_WIDTH, self.size.width or SPARK_WIDTH)), limits, note)
        key = row.key if row is not None else None
        self._lines = new
        width = self.size.width
        if key != self.key or not width:
            # Another symbol, or not laid out yet: paint it all (line regions need a width).
            self.key = key
            self.refresh()
            return
        for y in range(max(len(old), len(new))):
            if y >= len(old) or y >= len(new) or old[y] != new[y]:
                self.refresh(Region(0, y, width, 1))

    def get_line_filters(self) -> Sequence[LineFilter]:
        return truecolor_filters(super().get_line_filters())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style += self.get_component_rich_style(f"depth-view--{name}", partial=True)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._style("")
        if y >= len(self._lines):
            return Strip.blank(width, base)
        segments = []
        used = 0
        for text, style in self._lines[y]:
            if used >= width:
                break
            size = cell_len(text)
            if used + size > width:
                text = set_cell_size(text, width - used)
                size = width - used
            segments.append(Segment(text, self._style(style)))
            used += size
        return Strip(segments, used).extend_cell_length(width, base)
