"""The quote table's lines: the header and each row, drawn once into a Strip kept until it changes.

Cells are plain :class:`~rich.segment.Segment` text, never markup: a symbol name such as ``[red]`` is
shown as typed. Widths are counted in terminal cells, so full-width Japanese names align.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from quoteboard.board.model import Board, Row
from quoteboard.board.widgets.columns import GAP, Column, Kind, choose_columns, fit_cell
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.state import Limits, board_state, shown_price

__all__ = ["TableLines", "truecolor_filters"]

#: Name cells kept at most (names seldom change: one a row, normally).
NAME_CACHE: Final = 200


def truecolor_filters(filters: Sequence[LineFilter]) -> list[LineFilter]:
    """The app's line filters but ANSIToTruecolor, for a widget whose styles are all from CSS.

    Outside an ANSI theme those are truecolor, which the filter leaves as they are; it would only
    copy every repainted line (NO_COLOR's and the dim filter, when on, are kept).
    """
    return [line_filter for line_filter in filters if not isinstance(line_filter, ANSIToTruecolor)]


#: Which of a row's four styles (its own, Last's, the change's, the mark's) a kind of cell takes.
_PAINT_INDEX: Final[dict[Kind, int]] = {"code": 0, "name": 0, "plain": 0, "last": 1, "change": 2, "mark": 3}


def _no_limits(key: SymbolKey) -> Limits | None:
    return None


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
    mark: Style


class TableLines(ScrollView):
    """The board's rows as lines of a ScrollView, each row's Strip cached and drawn again only when
    dropped from the cache. :class:`~quoteboard.board.widgets.quote_table.QuoteTable` says which rows,
    in which order, and when; this class draws them and hands them to Textual as they are."""

    #: The highlighted row, drawn in the cursor's style (QuoteTable moves it).
    cursor_key: var[SymbolKey | None] = var(None, init=False)

    def __init__(self, board: Board, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.board = board
        self._order: list[SymbolKey] = []
        self._cache: dict[SymbolKey, Strip] = {}
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
        #: Rows marked for a fired alert: their Code cell ends in "!".
        self._marked: set[SymbolKey] = set()
        #: The feed is not live (reconnecting, its server or relay away): prices are the last known,
        #: drawn muted so that they do not pass for live ones.
        self._stale = False
        #: Rows rebuilt since the table was created (how the benchmark sees that work is per row).
        self.rows_rendered = 0
        #: The day's price limits of a symbol, when known (the symbol facts set this).
        self.limits: Callable[[SymbolKey], Limits | None] = _no_limits

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
            if column.kind == "mark":
                step = _Step(self._mark, str, width, column.right)
            elif column.kind == "last":  # before the first trade, the indicative price (muted)
                step = _Step(shown_price, column.format, width, column.right)
            else:
                step = _Step(attrgetter(column.field), column.format, width, column.right)
            paint = _PAINT_INDEX[column.kind]
            if plan and plan[-1][0] == paint:
                plan[-1][1].append(step)
            else:
                plan.append((paint, [step]))
        self._plan = tuple((paint, tuple(steps)) for paint, steps in plan)

    def _mark(self, quote: Quote) -> str:
        state = board_state(quote, self.limits(quote.key))
        return "" if state is None else state.mark

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
        mark_style = paint.mark
        if self._stale:  # one muted run: no up, down or flash colours for prices that may be old
            last_style = change_style = mark_style = paint.muted
            base = paint.muted
        elif quote.last is None:  # no trade yet: an indicative price, if any, is not one
            last_style = paint.muted
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
        styles = (base, last_style, change_style, mark_style)
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
                mark=base + self._style("mark"),
            )
        return paint

    def _strip(self, segments: list[Segment]) -> Strip:
        """A row's strip: its ``_row_width`` cells, then the scrollbar gutter's, which lie under the
        scrollbar or show the widget's background like the rest of it (never the cursor's)."""
        if self._gutter:
            segments.append(Segment(" " * self._gutter, self._style("gutter")))
        return Strip(segments, self._row_width + self._gutter)
