"""The positions view (``p``): each position with its P&L at the last price pushed, totals below.

It reads the positions (``GET /positions``, all products; the relay's own on NATS) when a feed starts,
every 60 s, and on ``u``; the symbols held are pinned for PUSH (:meth:`QuoteboardApp.set_pinned`).
Prices come from every quote the app decodes (:attr:`QuoteboardApp.quotes`), applied to a
:class:`~quoteboard.positions.PositionBook` in O(1), and the view is redrawn at most once a frame,
only when something changed. A position whose symbol has pushed nothing yet gets one snapshot. Read
only: it sends no orders. A feed that offers no positions says so in words.

A station that refuses, one that cannot be reached, or an account with nothing in it is one line
in words above the table; positions already read stay shown under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Final, cast

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from quoteboard.feeds.contract import OffersPositions
from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.positions import PositionBook
from quoteboard.widgets.quote_table import BLANK, format_price, format_qty

if TYPE_CHECKING:
    from quoteboard.app import QuoteboardApp

__all__ = ["RELOAD_SECONDS", "PositionsView"]

#: How often the positions are read again (they change only when orders fill).
RELOAD_SECONDS: Final = 60.0
PINNED_AS: Final = "positions"


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = PositionBook()
        #: The line in words over the table (reading, an error, an empty account), or None.
        self.note: str | None = "the positions are read once a feed starts"
        #: Times the positions were read successfully (tests wait on it).
        self.loads = 0

    @property
    def board_app(self) -> QuoteboardApp:
        return cast("QuoteboardApp", self.app)

    def on_mount(self) -> None:
        self.board_app.quotes.subscribe(self.on_quote)
        self.set_interval(RELOAD_SECONDS, self.reload)

    def on_quote(self, quote: Quote) -> None:
        """Every quote the feed decodes: O(1), and nothing drawn here (the frame timer draws)."""
        if quote.last is not None:
            # The plain (code, exchange) tuple finds the SymbolKey entry, as in Board.apply: no
            # Quote.key constructor call for every quote of every symbol.
            exchange = quote.exchange
            self.book.apply((quote.symbol, 1 if exchange is None else exchange), quote.last)  # type: ignore[arg-type]

    def frame(self) -> None:
        """Called by the app's frame clock (a timer of its own would wake the board 20 times a
        second more, shown or not)."""
        if self.book.unpriced:
            # The app fills the list's rows from REST snapshots without telling the watchers.
            for key in self.book.unpriced_keys():
                self.book.apply(key, self._board_last(key))
        if self.display and self.book.take_dirty():
            self.redraw()

    def action_reload(self) -> None:
        self.note = "reading the positions again…"
        self.redraw()
        self.reload()

    def reload(self, *, forget: bool = False) -> None:
        """Read the positions again, in a worker; ``forget`` the ones shown first (a new feed's
        station is another account, or none)."""
        if forget:  # (still pinned: the next read pins what the new station holds, as a difference)
            self.book.replace([])
            self.note = "reading the positions…"
            self.redraw()
        self._load()

    @work(exclusive=True, exit_on_error=False, group="positions")
    async def _load(self) -> None:
        app = self.board_app
        feed = app.feed
        if feed is None:
            self._say("no feed yet: the positions are read once one starts")
            return
        if not isinstance(feed, OffersPositions):
            self._say(f"this feed has no positions: {feed.name} offers quotes only")
            return
        try:
            positions = await feed.positions()
        except KabuError as exc:
            self._say(f"the station refused to list the positions: {exc}")
            return
        except KabuClientError as exc:
            self._say(f"the station cannot be reached, so the positions are not known: {exc}")
            return
        if app.feed is not feed:  # a switch of feed while this was on the way
            return
        self.book.replace(positions, last_of=self._board_last)
        self.loads += 1
        app.set_pinned(PINNED_AS, self.book.keys)
        self.note = None if positions else f"no positions: the account on {feed.name} holds nothing"
        self.redraw()
        # Symbols held but not on the list: one snapshot each, as a quiet one may not push for a while
        # (the list's own rows are filled by the app, and read from its board by frame).
        for key in self.book.unpriced_keys():
            if key in app.board.rows:
                continue
            got: list[Quote] = []
            failures = await feed.fetch_boards([key], got.append)
            if failures:
                self._say(f"no price yet for {key}: {failures[0][1]}")
                return
            if got and key in self.book.unpriced_keys():
                self.book.apply(key, got[0].last)

    @on(Worker.StateChanged)
    def _load_failed(self, event: Worker.StateChanged) -> None:
        """A read that raised what nothing expected (a bug): say so rather than keep "reading…"."""
        error = event.worker.error
        if event.state is WorkerState.ERROR and event.worker.group == "positions":
            self._say(f"reading the positions failed: unexpected error: {type(error).__name__}: {error}")

    def _board_last(self, key: SymbolKey) -> float | None:
        row = self.board_app.board.rows.get(key)
        return row.quote.last if row is not None and row.quote is not None else None

    def _say(self, note: str) -> None:
        self.note = note
        self.redraw()

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
