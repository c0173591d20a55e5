"""The quote table: one line per watched symbol, repainted only where a quote changed.

Textual's stock DataTable re-renders every visible cell on each ``update_cell`` (Textual issue
#6457), too much at Kabu's pace on a full list. This table is a ScrollView on the line API instead:
each row's :class:`~textual.strip.Strip` is cached and rebuilt only when the board marks the row dirty,
and only that row's line is refreshed. The app drains ``Board.take_dirty()`` once a frame, so a flood
of quotes for one symbol costs one repaint (the latest quote wins).

Cells are plain :class:`~rich.segment.Segment` text, never markup: a symbol name such as ``[red]`` is
shown as typed. Widths are counted in terminal cells, so full-width Japanese names align.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, ClassVar, Final, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from quoteboard.board.model import FLASH_SECONDS, Board, Row
from quoteboard.board.widgets.columns import COLUMNS, GAP, Column, Kind, choose_columns, fit_cell
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.store.watchlist import SORT_MODES, SortMode  # the saved sort is one of these

__all__ = ["SORT_MODES", "QuoteTable", "truecolor_filters"]

#: With a sort on live values, the order is recomputed at most this often (rows jumping about
#: on every tick are unreadable, and each reorder repaints the whole table).
RESORT_SECONDS: Final = 1.0
#: Name cells kept at most (names seldom change: one a row, normally).
NAME_CACHE: Final = 200
_SORT_KEYS: Final = {column.sort: column.sort_key for column in COLUMNS if column.sort and column.sort_key}


def truecolor_filters(filters: Sequence[LineFilter]) -> list[LineFilter]:
    """The app's line filters but ANSIToTruecolor, for a widget whose styles are all from CSS.

    Outside an ANSI theme those are truecolor, which the filter leaves as they are; it would only
    copy every repainted line (NO_COLOR's and the dim filter, when on, are kept).
    """
    return [line_filter for line_filter in filters if not isinstance(line_filter, ANSIToTruecolor)]


def _as_added(row: Row) -> tuple[object, ...]:
    return (row.order,)


#: Which of a row's three styles (its own, Last's, the change's) a kind of cell takes.
_PAINT_INDEX: Final[dict[Kind, int]] = {"code": 0, "name": 0, "plain": 0, "last": 1, "change": 2}


class _Step(NamedTuple):
    """A data cell as a row is drawn: the quote's field, its text, its width and side."""

    field: Callable[[Quote], Any]
    format: Callable[[Any], str]
    width: int
    right: bool


@dataclass(frozen=True, slots=True)
class _Paint:
    """A row's styles over its base style (the cursor's or not)."""

    base: Style
    up: Style
    down: Style
    flash_up: Style
    flash_down: Style
    muted: Style


class QuoteTable(ScrollView, can_focus=True):
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
    cursor_key: var[SymbolKey | None] = var(None, init=False)

    def __init__(self, board: Board, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.board = board
        self._order: list[SymbolKey] = []
        self._index: dict[SymbolKey, int] = {}
        self._cache: dict[SymbolKey, Strip] = {}
        self._flash_until: dict[SymbolKey, float] = {}
        self._styles: dict[str, Style] = {}
        self._paints: dict[bool, _Paint] = {}
        #: The header and the blank line, as drawn (by header?, scroll_x, width, full width).
        self._fixed_lines: dict[tuple[bool, int, int, int], Strip] = {}
        #: Each row's Code cell, and each name's Name cell, padded: they seldom change.
        self._code_cells: dict[SymbolKey, str] = {}
        self._name_cells: dict[str, str] = {}
        #: The columns shown at this width, with their widths (chosen again on resize only).
        self._shown = choose_columns(0)
        #: The data cells, in runs of one style: (index into the row's styles, cells).
        self._plan: tuple[tuple[int, tuple[_Step, ...]], ...] = ()
        self._code_width = self._name_width = self._width_shown = 0
        self._plan_for(self._shown)
        #: Cells of a row: the table, padded to the width it scrolls in. A row's strip holds these
        #: and then the scrollbar gutter's, so that Textual, which wants a line as wide as the
        #: content region, neither extends nor crops it (each would make another Strip).
        self._row_width = self._table_width()
        self._gutter = 0
        self._sorted_at = 0.0
        self._last_cursor_index = 0
        #: Rows marked for a fired alert: their Code cell ends in "!".
        self._marked: set[SymbolKey] = set()
        #: The feed is not live (reconnecting, its server or relay away): prices are the last known,
        #: drawn muted so that they do not pass for live ones.
        self._stale = False
        #: Rows rebuilt since the table was created (how the benchmark sees that work is per row).
        self.rows_rendered = 0

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

    # -- rendering -------------------------------------------------------------------------------

    def _table_width(self) -> int:
        return self._width_shown

    @property
    def shown_columns(self) -> list[str]:
        """The titles of the columns shown at this width."""
        return [column.title for column, _ in self._shown]

    def _plan_for(self, shown: tuple[tuple[Column, int], ...]) -> None:
        self._shown = shown
        self._width_shown = sum(width + GAP for _, width in shown)
        widths = {column.kind: width for column, width in shown}
        self._code_width, self._name_width = widths.get("code", 0), widths.get("name", 0)
        # Adjacent cells of one style are drawn as one run, their gaps in it (Chg and Chg%), so that
        # they print as one segment; the gap after a run takes the row's style (a flash ends).
        plan: list[tuple[int, list[_Step]]] = []
        for column, width in shown:
            if column.kind in ("code", "name"):
                continue
            step = _Step(attrgetter(column.field), column.format, width, column.right)
            paint = _PAINT_INDEX[column.kind]
            if plan and plan[-1][0] == paint:
                plan[-1][1].append(step)
            else:
                plan.append((paint, [step]))
        self._plan = tuple((paint, tuple(steps)) for paint, steps in plan)

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

    def get_line_filters(self) -> Sequence[LineFilter]:
        return truecolor_filters(super().get_line_filters())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.forget_styles()

    def forget_styles(self) -> None:
        """Drop every resolved style and cached row, and repaint: the CSS variables changed (the
        colour palette), which Textual does not always report as a style update of this widget."""
        self._styles.clear()
        self._paints.clear()
        self._fixed_lines.clear()
        self._cache.clear()
        self.refresh()

    def _style(self, name: str) -> Style:
        # DOMNode.rich_style walks every ancestor's styles, too slow for every cell: resolve each style
        # once, until the CSS or the theme changes (notify_style_update clears this cache).
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            elif name == "gutter":
                # What Textual pads a short line with: the widget's background over its parent's.
                base_background, background = self.background_colors
                style = Style(bgcolor=(base_background + background).rich_color)
            elif name == "cursor-row":
                style = self.rich_style + self._style("cursor")
            else:
                style = self.get_component_rich_style(f"quote-table--{name}", partial=True)
            self._styles[name] = style
        return style

    def _refresh_index(self, index: int) -> None:
        self._refresh_indexes((index,))

    def _refresh_indexes(self, indexes: Iterable[int]) -> None:
        """Refresh the visible lines of these rows, adjacent rows as one region (one call)."""
        top = round(self.scroll_y) - 1
        height = self.size.height
        lines = sorted(y for y in (index - top for index in indexes) if 1 <= y < height)
        if not lines:
            return
        width = self.size.width
        regions = []
        start = previous = lines[0]
        for y in lines[1:]:
            if y != previous + 1:
                regions.append(Region(0, start, width, previous - start + 1))
                start = y
            previous = y
        regions.append(Region(0, start, width, previous - start + 1))
        self.refresh(*regions)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The table's lines straight from its row cache, when Textual has nothing to add to them.

        Textual would pass every line the screen repaints through its generic styling (borders,
        padding, tint, opacity: the table has none of them) and copy it into a new Strip; at
        Kabu's pace that was a tenth of the board's CPU. With any of those styles set, Textual's
        own rendering is used, which calls :meth:`render_line`.
        """
        if not self._plain():
            return super().render_lines(crop)
        width = self.scrollable_content_region.width
        full = self.size.width
        scroll_x, top = round(self.scroll_x), round(self.scroll_y)
        order, cache, line = self._order, self._cache, self._line
        count = len(order)
        strips = []
        for y in crop.line_range:
            # The common case inline (a cached row as wide as the line, not scrolled sideways): this
            # runs for every line of the table each time the screen repaints any of them.
            index = top + y - 1
            strip = cache.get(order[index]) if y and index < count and not scroll_x else None
            if strip is None or strip.cell_length != full:
                strip = line(y, width, full, scroll_x, top)
            strips.append(strip)
        filters = self.get_line_filters()
        if filters:
            _, background = self.background_colors
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if x1 or x2 != full:
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        width, full = self.scrollable_content_region.width, self.content_region.width
        return self._line(y, width, full, round(self.scroll_x), round(self.scroll_y))

    def _plain(self) -> bool:
        """Whether Textual's rendering of the lines would leave them as they are."""
        styles = self.styles
        return (
            not any(styles.gutter)  # padding, border
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.text_opacity == 1.0
            and self.opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
        )

    def _line(self, y: int, width: int, full: int, scroll_x: int, top: int) -> Strip:
        """Line ``y``, ``full`` cells wide: the table's ``width`` cells scrolled by ``scroll_x``, then
        the scrollbar gutter, as Textual pads a line (with the widget's background)."""
        index = top + y - 1
        if y == 0 or index >= len(self._order):  # the header, or a line under the last row
            which = (y == 0, scroll_x, width, full)
            strip = self._fixed_lines.get(which)
            if strip is None:
                base = self._style("base")
                strip = (
                    self._header().crop_extend(scroll_x, scroll_x + width, base)
                    if y == 0
                    else Strip.blank(width, base)
                )
                strip = self._fixed_lines[which] = strip.adjust_cell_length(full, self._style("gutter"))
            return strip
        key = self._order[index]
        strip = self._cache.get(key)
        if strip is None:
            strip = self._cache[key] = self._render_row(self.board.rows[key], key == self.cursor_key)
        if scroll_x == 0 and strip.cell_length == full:
            return strip  # as wide as Textual wants it: the common case, nothing to make
        base = self._style("cursor-row" if key == self.cursor_key else "base")
        return strip.crop_extend(scroll_x, scroll_x + width, base).adjust_cell_length(
            full, self._style("gutter")
        )

    def _header(self) -> Strip:
        style = self._style("base") + self._style("header")
        parts = []
        for column, width in self._shown:
            parts.append(fit_cell(column.title, width, column.right))
        text = (" " * GAP).join(parts) + " " * GAP
        return Strip([Segment(text, style)], cell_len(text))

    def _render_row(self, row: Row, cursor: bool) -> Strip:
        self.rows_rendered += 1
        paint = self._paint(cursor)
        base = paint.base
        quote = row.quote
        gap_text = " " * GAP
        code = self._code_cells.get(row.key)
        if code is None:
            width = self._code_width
            # A fired alert's mark takes the cell's last column (a long code loses its end instead).
            label = (
                fit_cell(str(row.key), width - 1, False) + "!" if row.key in self._marked else str(row.key)
            )
            code = self._code_cells[row.key] = fit_cell(label, width, False) + gap_text
        table_width = self._table_width()
        padding = " " * (self._row_width - table_width)  # out to the width the table scrolls in
        if quote is None or row.note is not None:
            # (Rare: before the first quote, refused, or past the cap with an old quote.) A refusal
            # is said in words, so the text takes the whole row, not just the Name column.
            text = row.note or "waiting for the first quote…"
            waiting = fit_cell(text, table_width - len(code), False)
            return self._strip([Segment(code, base), Segment(waiting + padding, paint.muted)])
        direction = row.direction
        if self._stale:  # one muted run: no up, down or flash colours for prices that may be old
            last_style = change_style = paint.muted
            base = paint.muted
        elif row.flashing(time.monotonic()):
            last_style = paint.flash_up if direction > 0 else paint.flash_down
        else:
            last_style = paint.up if direction > 0 else paint.down if direction < 0 else base
        change = quote.change
        if not self._stale:
            change_style = (paint.up if change > 0 else paint.down) if change else base
        segments = [Segment(code, base)]
        if self._name_width:
            # The code and the name are segments of their own: a name may hold full-width
            # characters, and an SVG screenshot places each segment at its cell and squeezes the
            # text within it, so a name run together with its neighbours would overlap them
            # wherever the font's full-width glyphs are not exactly two cells wide.
            name_text = quote.name or ""
            name = self._name_cells.get(name_text)
            if name is None:
                if len(self._name_cells) >= NAME_CACHE:  # names that keep changing: start again
                    self._name_cells.clear()
                name = self._name_cells[name_text] = fit_cell(name_text, self._name_width, False) + gap_text
            segments.append(Segment(name, base))
        # The rest cell by cell, in runs of one style as one segment: fewer segments for Textual to
        # crop, filter and print. (Styles compare by identity: _paint makes them once.)
        styles = (base, last_style, change_style)
        run, run_style = "", base
        for paint_index, steps in self._plan:
            style = styles[paint_index]
            # (A loop, not a comprehension, and _cell's common case inline: on Python 3.11 each
            # would be a function call more per cell.)
            text = ""
            for field, format_, width, right in steps:
                cell = format_(field(quote))
                if cell.isascii() and cell.isprintable():
                    text += (cell.rjust(width) if right else cell.ljust(width))[:width] + gap_text
                else:
                    text += fit_cell(cell, width, right) + gap_text
            if style is run_style:
                run += text
                continue
            if run:
                segments.append(Segment(run, run_style))
            if style is base:
                run, run_style = text, base
            else:  # the gap after the run is the row's: a flash's background ends with the cell
                segments.append(Segment(text[:-GAP], style))
                run, run_style = gap_text, base
        run += padding  # (the run is the row's style here: the last gap is never joined)
        if run:
            segments.append(Segment(run, run_style))
        return self._strip(segments)

    def _paint(self, cursor: bool) -> _Paint:
        """The styles of a row, each with the row's base under it, made once per style change."""
        paint = self._paints.get(cursor)
        if paint is None:
            base = self._style("cursor-row" if cursor else "base")
            paint = self._paints[cursor] = _Paint(
                base=base,
                up=base + self._style("up"),
                down=base + self._style("down"),
                flash_up=base + self._style("flash-up"),
                flash_down=base + self._style("flash-down"),
                muted=base + self._style("muted"),
            )
        return paint

    def _strip(self, segments: list[Segment]) -> Strip:
        """A row's strip: its ``_row_width`` cells, then the scrollbar gutter's, which lie under the
        scrollbar or show the widget's background like the rest of it (never the cursor's)."""
        if self._gutter:
            segments.append(Segment(" " * self._gutter, self._style("gutter")))
        return Strip(segments, self._row_width + self._gutter)
