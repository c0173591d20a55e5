"""The detail of the highlighted symbol: its 10-level book, a sparkline of recent prices, the day's stats.

Asks (the sell side) are listed above, best ask nearest the middle; bids (the buy side) below, best bid
first, the usual way a board reads. Kabu's reversed naming was translated in the decoder, so here
``asks`` really are offers to sell and ``bids`` offers to buy.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from quoteboard.board import Row
from quoteboard.kabu.protocol import Level
from quoteboard.widgets.quote_table import format_price, format_qty, format_signed

__all__ = ["DepthView"]

LEVELS = 10
PRICE_WIDTH = 10
QTY_WIDTH = 11


def _level_line(label: str, level: Level | None, style: str) -> Text:
    price = format_price(level.price) if level is not None else ""
    qty = format_qty(level.qty) if level is not None else ""
    line = Text(f"{label:<5}", style="dim")
    line.append(f"{price:>{PRICE_WIDTH}}", style=style)
    line.append(f"{qty:>{QTY_WIDTH}}")
    return line


def book_text(row: Row) -> Text:
    """The book as text lines: asks 10..1, the last price, bids 1..10."""
    quote = row.quote
    lines: list[Text] = []
    if quote is None:
        return Text("waiting for the first quote…", style="dim")
    asks = quote.asks
    for i in range(LEVELS - 1, -1, -1):
        lines.append(_level_line(f"ask{i + 1}" if i else "ask", asks[i], "red"))
    middle = Text(f"{'last':<5}", style="dim")
    middle.append(f"{format_price(quote.last):>{PRICE_WIDTH}}", style="bold")
    spread = quote.ask - quote.bid if quote.ask is not None and quote.bid is not None else None
    middle.append(f"  spread {format_price(spread)}" if spread is not None else "", style="dim")
    lines.append(middle)
    bids = quote.bids
    for i in range(LEVELS):
        lines.append(_level_line(f"bid{i + 1}" if i else "bid", bids[i], "green"))
    return Text("\n").join(lines)


def stats_text(row: Row) -> Text:
    quote = row.quote
    if quote is None:
        return Text("")
    pairs = (
        ("Open", format_price(quote.open)),
        ("High", format_price(quote.high)),
        ("Low", format_price(quote.low)),
        ("Prev", format_price(quote.prev_close)),
        ("VWAP", format_price(quote.vwap)),
        ("Chg", format_signed(quote.change)),
        ("Volume", format_qty(quote.volume)),
    )
    text = Text()
    for i, (label, value) in enumerate(pairs):
        text.append(f"{label:<7}", style="dim")
        text.append(f"{value:>14}")
        if i != len(pairs) - 1:
            text.append("\n")
    return text


class DepthView(Vertical):
    """Title, book, sparkline and stats of one row. :meth:`show` is cheap enough for a few Hz."""

    DEFAULT_CSS = """
    DepthView { height: auto; }
    DepthView #depth-title { text-style: bold; }
    DepthView #depth-book { height: auto; margin: 1 0 0 0; }
    DepthView Sparkline { height: 3; margin: 1 0 0 0; }
    DepthView #depth-stats { height: auto; margin: 1 0 0 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key: str | None = None
        self._history_seen: tuple[int, float | None] = (0, None)

    def compose(self) -> ComposeResult:
        yield Static(Text("no symbol highlighted", style="dim"), id="depth-title")
        yield Static(id="depth-book")
        yield Sparkline([], id="depth-sparkline")
        yield Static(id="depth-stats")

    def show(self, row: Row | None) -> None:
        """Show ``row`` (None clears the view)."""
        title = self.query_one("#depth-title", Static)
        book = self.query_one("#depth-book", Static)
        spark = self.query_one(Sparkline)
        stats = self.query_one("#depth-stats", Static)
        if row is None:
            self.key = None
            title.update(Text("no symbol highlighted", style="dim"))
            book.update("")
            spark.data = []
            stats.update("")
            return
        name = row.quote.name if row.quote is not None and row.quote.name else ""
        heading = Text(row.key, style="bold")
        if name:
            heading.append(f"  {name}")
        title.update(heading)
        book.update(book_text(row))
        stats.update(stats_text(row))
        history = row.history
        seen = (len(history), history[-1] if history else None)
        if row.key != self.key or seen != self._history_seen:
            # One point draws as a solid block, which reads as a chart of nothing.
            spark.data = list(history) if len(history) > 1 else []
            self._history_seen = seen
        self.key = row.key
