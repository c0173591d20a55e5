"""The positions view (``p``): each position with its P&L at the last price pushed, totals below.

It draws a :class:`~quoteboard.board.positions.PositionBook` that the positions controller
(:mod:`quoteboard.board.controllers.positions`) reads and prices; ``u`` posts
:class:`PositionsView.ReloadAsked`. Read only: it sends no orders.

A station that refuses, one that cannot be reached, or an account with nothing in it is one line
in words above the table (:meth:`PositionsView.show_note`); positions already read stay shown under it.
"""

from __future__ import annotations

from typing import ClassVar, Final

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from quoteboard.board.positions import PositionBook
from quoteboard.board.widgets.columns import BLANK, format_price, format_qty

__all__ = ["PositionsView"]


def format_yen(value: float | None) -> str:
    return BLANK if value is None else f"{value:+,.0f}"


def format_pct(value: float | None) -> str:
    return BLANK if value is None else f"{value:+.2f}%"


#: The view's columns in display order: (title, right-aligned, priority). On a narrow screen the
#: lowest priorities show, whole: the P&L first, the name last (and shortened to fit).
POSITION_COLUMNS: Final = (
    ("Code", False, 0),
    ("Name", False, 5),
    ("Side", False, 3),
    ("Qty", True, 3),
    ("Average", True, 4),
    ("Last", True, 2),
    ("P&L ¥", True, 0),
    ("P&L %", True, 1),
)
#: A name shorter than this is not worth showing.
NAME_MIN: Final = 8
#: Each column's padding, a cell either side.
PAD: Final = 2


def choose_position_columns(widths: dict[str, int], width: int) -> list[tuple[str, bool, int]]:
    """The columns shown in ``width`` cells, in display order, as (title, right, width): each
    column as wide as its widest cell, whole priorities taken best first while they fit; the
    name takes what is left, at least :data:`NAME_MIN` cells."""
    chosen: set[str] = set()
    used = 0
    for priority in sorted({priority for _, _, priority in POSITION_COLUMNS}):
        group = [title for title, _, p in POSITION_COLUMNS if p == priority]
        need = sum(PAD + (min(widths[t], NAME_MIN) if t == "Name" else widths[t]) for t in group)
        if chosen and used + need > width:
            break
        chosen.update(group)
        used += need
    spare = max(0, width - used)
    return [
        (title, right, min(widths[title], NAME_MIN + spare) if title == "Name" else widths[title])
        for title, right, _ in POSITION_COLUMNS
        if title in chosen
    ]


class PositionsView(Static, can_focus=True):
    """The positions and their live P&L, in place of the quote table while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.positions", "Back", show=False),
        Binding("u", "reload", "Read again", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "positions-view--title",
        "positions-view--header",
        "positions-view--up",
        "positions-view--down",
        "positions-view--muted",
        "positions-view--note",
    }

    DEFAULT_CSS = """
    PositionsView { background: $surface; padding: 0 1; }
    PositionsView > .positions-view--title { text-style: bold; }
    PositionsView > .positions-view--header { text-style: bold; color: $text-muted; }
    PositionsView > .positions-view--up { color: $quote-up-text; }
    PositionsView > .positions-view--down { color: $quote-down-text; }
    PositionsView > .positions-view--muted { color: $text-muted; }
    PositionsView > .positions-view--note { color: $text-warning; }
    """

    class ReloadAsked(Message):
        """``u``: read the positions again now."""

    def __init__(self, book: PositionBook, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = book
        #: The line in words over the table (reading, an error, an empty account), or None.
        self.note: str | None = "the positions are read once a feed starts"
        #: Times a fresh read of the positions was shown (tests wait on it).
        self.loads = 0

    def action_reload(self) -> None:
        self.post_message(self.ReloadAsked())

    def show_note(self, note: str | None) -> None:
        self.note = note
        self.redraw()

    def show_loaded(self, note: str | None) -> None:
        """The book was just read again: shown, with ``note`` over it (an empty account's)."""
        self.loads += 1
        self.show_note(note)

    # -- drawing ---------------------------------------------------------------------------------

    def redraw(self) -> None:
        self.update(self._render_book())

    def on_resize(self) -> None:
        self.redraw()  # the columns that fit are chosen for the width

    def _signed(self, text: str, value: float | None) -> Text:
        if value is None or value == 0:
            return Text(text)
        return Text(text, style=self.get_component_rich_style(
            "positions-view--up" if value > 0 else "positions-view--down", partial=True))  # fmt: skip

    def _render_book(self) -> RenderableType:
        muted = self.get_component_rich_style("positions-view--muted", partial=True)
        title = Text("Positions", style=self.get_component_rich_style("positions-view--title", partial=True))
        title.append("   u reads them again · p or Escape goes back · read only", style=muted)
        parts: list[RenderableType] = [title, Text("")]
        if self.note:
            parts.append(
                Text(self.note, style=self.get_component_rich_style("positions-view--note", partial=True))
            )
            parts.append(Text(""))
        if not self.book.rows:
            return Group(*parts)
        totals = self.book.totals()
        cells: dict[str, list[Text]] = {heading: [] for heading, _, _ in POSITION_COLUMNS}
        for row in self.book.rows:
            position = row.position
            pnl = row.pnl
            cells["Code"].append(Text(str(position.key)))
            cells["Name"].append(Text(position.name or BLANK))
            cells["Side"].append(Text("long" if position.long else "short"))
            cells["Qty"].append(Text(format_qty(position.qty)))
            cells["Average"].append(Text(format_price(position.price)))
            cells["Last"].append(Text(format_price(row.last)))
            cells["P&L ¥"].append(self._signed(format_yen(pnl), pnl))
            cells["P&L %"].append(self._signed(format_pct(row.pnl_pct), pnl))
        waiting = f", {totals.unpriced} without a price yet" if totals.unpriced else ""
        total = {
            "Code": Text("Total", style="bold"),
            "Name": Text(f"{len(self.book.rows)} positions{waiting}", style=muted),
            "P&L ¥": self._signed(format_yen(totals.pnl), totals.pnl),
            "P&L %": self._signed(format_pct(totals.pnl_pct), totals.pnl),
        }
        widths = {
            heading: max(
                cell_len(heading), *(text.cell_len for text in [*column, total.get(heading, Text())])
            )
            for heading, column in cells.items()
        }
        shown = choose_position_columns(widths, self.content_size.width)
        table = Table(
            box=None,
            padding=(0, 1),
            show_edge=False,
            header_style=self.get_component_rich_style("positions-view--header", partial=True),
        )
        for heading, right, width in shown:
            # Only Name may be shortened (with an ellipsis): a number is never cut.
            name = heading == "Name"
            table.add_column(
                heading,
                justify="right" if right else "left",
                no_wrap=True,
                overflow="ellipsis" if name else "fold",
                max_width=width if name else None,
                min_width=None if name else width,
            )
        for index in range(len(self.book.rows)):
            table.add_row(*(cells[heading][index] for heading, _, _ in shown))
        table.add_section()
        table.add_row(*(total.get(heading, Text("")) for heading, _, _ in shown))
        parts.append(table)
        return Group(*parts)
