"""The quote table: one line per watched symbol, repainted only where a quote changed.

Textual's stock DataTable re-renders every visible cell on each ``update_cell`` (Textual issue
#6457), too much at Kabu's pace on a full list. This table is a ScrollView on the line API instead:
each row's :class:`~textual.strip.Strip` is cached and rebuilt only when the board marks the row dirty,
and only that row's line is refreshed. The app drains ``Board.take_dirty()`` once a frame, so a flood
of quotes for one symbol costs one repaint (the latest quote wins). How a row is drawn is in
:mod:`quoteboard.board.widgets.table_lines`; this module says which rows, in which order, and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar, Final

from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var

from quoteboard.board.model import FLASH_SECONDS, Board, Row
from quoteboard.board.widgets.columns import COLUMNS, GAP, choose_columns
from quoteboard.board.widgets.table_lines import TableLines
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.store.watchlist import SORT_MODES, SortMode  # the saved sort is one of these

__all__ = ["SORT_MODES", "QuoteTable"]

#: With a sort on live values, the order is recomputed at most this often (rows jumping about
#: on every tick are unreadable, and each reorder repaints the whole table).
RESORT_SECONDS: Final = 1.0
_SORT_KEYS: Final = {column.sort: column.sort_key for column in COLUMNS if column.sort and column.sort_key}


def _as_added(row: Row) -> tuple[object, ...]:
    return (row.order,)


class QuoteTable(TableLines, can_focus=True):
    """The live table of the board's rows, in a chosen sort order, with a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "quote-table--header",
        "quote-table--cursor",
        "quote-table--up",
        "quote-table--down",
        "quote-table--flash-up",
        "quote-table--flash-down",
        "quote-table--muted",
        "quote-table--mark",
    }

    DEFAULT_CSS = """
    QuoteTable {
        background: $surface;
        scrollbar-gutter: stable;
    }
    QuoteTable > .quote-table--header { text-style: bold; color: $text-muted; background: $panel; }
    QuoteTable > .quote-table--cursor { background: $primary 25%; }
    QuoteTable:focus > .quote-table--cursor { background: $primary 50%; }
    QuoteTable > .quote-table--up { color: $quote-up-text; }
    QuoteTable > .quote-table--down { color: $quote-down-text; }
    QuoteTable > .quote-table--flash-up { background: $quote-up 70%; color: $text; text-style: bold; }
    QuoteTable > .quote-table--flash-down { background: $quote-down 70%; color: $text; text-style: bold; }
    QuoteTable > .quote-table--muted { color: $text-muted; }
    /* No hue: every palette gives up and down their own (orange is down in the colour-blind one). */
    QuoteTable > .quote-table--mark { color: $foreground; text-style: bold; }
    """

    class Highlighted(Message):
        """The cursor moved to another symbol (``key`` is None when the table is empty)."""

        def __init__(self, table: QuoteTable, key: SymbolKey | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> QuoteTable:
            return self.table

    sort_mode: var[SortMode] = var("added")

    def __init__(self, board: Board, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(board, name=name, id=id)
        self._index: dict[SymbolKey, int] = {}
        self._flash_until: dict[SymbolKey, float] = {}
        self._sorted_at = 0.0
        self._last_cursor_index = 0

    # -- public API ------------------------------------------------------------------------------

    @property
    def order(self) -> list[SymbolKey]:
        """The keys in display order."""
        return list(self._order)

    def sync_rows(self) -> None:
        """Take the board's set of rows again (after an add or a remove) and repaint everything."""
        self._cache = {k: v for k, v in self._cache.items() if k in self.board.rows}
        self._code_cells = {k: v for k, v in self._code_cells.items() if k in self.board.rows}
        self._flash_until = {k: v for k, v in self._flash_until.items() if k in self.board.rows}
        self._resort()
        if self.cursor_key not in self._index:
            # The highlighted row went away: highlight the one that took its place.
            index = min(self._last_cursor_index, len(self._order) - 1)
            self.cursor_key = self._order[index] if self._order else None
        self.refresh()

    def update_rows(self, keys: set[SymbolKey]) -> None:
        """Repaint the rows of ``keys`` (from ``Board.take_dirty``) and end finished flashes."""
        now = time.monotonic()
        if self._flash_until:
            for key, until in list(self._flash_until.items()):
                if until <= now:
                    del self._flash_until[key]
                    keys.add(key)
        if not keys:
            return
        rows = self.board.rows
        for key in keys:
            row = rows.get(key)
            if row is not None and row.flashing(now):
                self._flash_until[key] = row.changed_at + FLASH_SECONDS
            self._cache.pop(key, None)
        if self.sort_mode != "added" and now - self._sorted_at >= RESORT_SECONDS:
            before = self._order
            self._resort()
            if self._order != before:
                self.refresh()
                return
        self._refresh_indexes(self._index[key] for key in keys if key in self._index)

    def set_marked(self, keys: Iterable[SymbolKey]) -> None:
        """Mark the rows of ``keys`` (symbols with a fired alert), and only those."""
        marked = set(keys)
        changed = marked ^ self._marked
        self._marked = marked
        for key in changed:
            self._code_cells.pop(key, None)
            self._cache.pop(key, None)
            index = self._index.get(key)
            if index is not None:
                self._refresh_index(index)

    @property
    def stale(self) -> bool:
        return self._stale

    def set_stale(self, stale: bool) -> None:
        """Draw every row's prices muted (``stale``), or in their colours again."""
        if stale != self._stale:
            self._stale = stale
            self._cache.clear()
            self.refresh()

    @property
    def marked(self) -> set[SymbolKey]:
        return set(self._marked)

    def move_cursor_to(self, key: SymbolKey) -> None:
        if key in self._index:
            self.cursor_key = key

    # -- sorting ---------------------------------------------------------------------------------

    def _resort(self) -> None:
        rows = sorted(self.board.rows.values(), key=_SORT_KEYS.get(self.sort_mode, _as_added))
        self._order = [row.key for row in rows]
        self._index = {key: i for i, key in enumerate(self._order)}
        self._sorted_at = time.monotonic()
        self.virtual_size = Size(self._table_width(), len(self._order) + 1)

    def watch_sort_mode(self) -> None:
        self._resort()
        if self.cursor_key is not None:
            self._scroll_to_index(self._index.get(self.cursor_key, 0))
        self.refresh()

    # -- cursor ----------------------------------------------------------------------------------

    def watch_cursor_key(self, old: SymbolKey | None, new: SymbolKey | None) -> None:
        for key in (old, new):
            if key is not None:
                self._cache.pop(key, None)
                index = self._index.get(key)
                if index is not None:
                    self._refresh_index(index)
        if new is not None:
            index = self._index.get(new, 0)
            self._last_cursor_index = index
            self._scroll_to_index(index)
        self.post_message(self.Highlighted(self, new))

    def action_cursor(self, step: int) -> None:
        if not self._order:
            return
        index = self._index.get(self.cursor_key, -1) if self.cursor_key is not None else -1
        index = max(0, min(len(self._order) - 1, index + step))
        self.cursor_key = self._order[index]

    def action_cursor_to(self, index: int) -> None:
        if self._order:
            self.cursor_key = self._order[index]

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 2))

    def _scroll_to_index(self, index: int) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False)

    def on_click(self, event: events.Click) -> None:
        y = event.y
        if y < 1:
            return
        index = round(self.scroll_y) + y - 1
        if 0 <= index < len(self._order):
            self.cursor_key = self._order[index]

    def on_resize(self) -> None:
        content_width = self.scrollable_content_region.width
        shown = choose_columns(content_width)
        row_width = max(content_width, sum(width + GAP for _, width in shown))
        gutter = max(0, self.content_region.width - content_width)
        if (shown, row_width, gutter) != (self._shown, self._row_width, self._gutter):
            self._plan_for(shown)
            self._row_width = row_width
            self._gutter = gutter
            self._cache.clear()
            self._fixed_lines.clear()
            self._code_cells.clear()
            self._name_cells.clear()
        self._resort()
