"""The quote table's columns: what each shows, how its cells are written, which fit a width.

The one place to add a column: a :class:`Column` in :data:`COLUMNS` says its title, width, priority
on a narrow screen, the quote's field it shows and its format, and the sort it offers. The widget in
:mod:`quoteboard.board.widgets.quote_table` draws them; other views borrow the formatters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rich.cells import cell_len, set_cell_size

from quoteboard.board.model import Row
from quoteboard.kabu.state import MARK_CELLS
from quoteboard.store.watchlist import SortMode

__all__ = [
    "BLANK",
    "COLUMNS",
    "GAP",
    "Column",
    "Kind",
    "choose_columns",
    "fit_cell",
    "format_pct",
    "format_price",
    "format_qty",
    "format_signed",
    "format_time",
]


BLANK: Final = "—"


def format_price(value: float | None) -> str:
    return BLANK if value is None else f"{value:,.1f}"


def format_signed(value: float | None, suffix: str = "") -> str:
    return BLANK if value is None else f"{value:+,.2f}{suffix}" if suffix else f"{value:+,.1f}"


def format_pct(value: float | None) -> str:
    return BLANK if value is None else f"{value:+,.2f}%"


def format_qty(value: float | None) -> str:
    return BLANK if value is None else f"{value:,.0f}"


def format_time(value: str | None) -> str:
    # Kabu sends ISO 8601 with the zone ("2026-11-25T09:00:01+09:00"): the board shows HH:MM:SS.
    if not value:
        return BLANK
    _, sep, rest = value.partition("T")
    return rest[:8] if sep else value[:8]


#: How a column's cells are drawn: "code" and "name" are cached per row and per name; "last" takes
#: the row's move colours (and its flash), "change" the sign's colour, "plain" the row's style;
#: "mark" is the board state's mark (:mod:`quoteboard.kabu.state`), from the quote and the limits.
Kind = Literal["code", "name", "plain", "last", "change", "mark"]


def _by_value(value: float | None, row: Row) -> tuple[object, ...]:
    """Largest first, rows without a value last, ties as added."""
    return (value is None, -(value or 0.0), row.order)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table: the only place that says what a column shows and how."""

    title: str
    width: int
    #: Lower shows first on a narrow screen; columns of one priority come and go together.
    priority: int
    #: The quote's field the cell shows, and how (unused for "code" and "name", which are drawn
    #: from the row's key and the quote's name, and cached).
    field: str = ""
    format: Callable[[Any], str] = str
    kind: Kind = "plain"
    right: bool = True
    #: Up to this many cells, when the screen has room to spare (the one column that grows).
    max_width: int | None = None
    #: The sort mode that orders the rows by this column, and the key it sorts by.
    sort: SortMode | None = None
    sort_key: Callable[[Row], tuple[object, ...]] | None = None


# Name gets what is left of the width, between these bounds.
NAME_MIN: Final = 10
NAME_MAX: Final = 28
#: In display order. Code and Last always show; then the change, the name and the board state's
#: mark, the spread, and so on.
COLUMNS: Final = (
    Column("Code", 8, 0, kind="code", right=False, sort="code", sort_key=lambda row: (row.key,)),
    Column("Name", NAME_MIN, 2, kind="name", right=False, max_width=NAME_MAX),
    # Last is 9 cells (123,456.0 fits) so that the state's mark beside it fits at 100 columns
    # with every other column; the mark comes and goes with the name.
    Column("Last", 9, 0, "last", format_price, kind="last"),
    Column("St", MARK_CELLS, 2, kind="mark", right=False),
    Column("Chg", 9, 1, "change", format_signed, kind="change"),
    Column(
        "Chg%",
        8,
        1,
        "change_pct",
        format_pct,
        kind="change",
        sort="change",
        sort_key=lambda row: _by_value(row.quote.change_pct if row.quote is not None else None, row),
    ),
    Column("Bid", 10, 3, "bid", format_price),
    Column("Ask", 10, 3, "ask", format_price),
    Column(
        "Volume",
        13,
        4,
        "volume",
        format_qty,
        sort="volume",
        sort_key=lambda row: _by_value(row.quote.volume if row.quote is not None else None, row),
    ),
    Column("Time", 8, 5, "time", format_time),
)
#: Cells between two columns (and after the last).
GAP: Final = 1


def choose_columns(width: int, columns: Sequence[Column] = COLUMNS) -> tuple[tuple[Column, int], ...]:
    """The columns shown in ``width`` cells, in display order, each with its width.

    Whole priorities are taken, best first, while they fit (each column followed by a gap); the
    lowest always shows, scrolling sideways if it must. What is left goes to the columns that grow.
    """
    chosen: set[int] = set()
    used = 0
    for priority in sorted({column.priority for column in columns}):
        group = [i for i, column in enumerate(columns) if column.priority == priority]
        need = sum(columns[i].width + GAP for i in group)
        if chosen and used + need > width:
            break
        chosen.update(group)
        used += need
    shown = []
    spare = max(0, width - used)
    for i, column in enumerate(columns):
        if i in chosen:
            grow = min(spare, (column.max_width or column.width) - column.width)
            spare -= grow
            shown.append((column, column.width + grow))
    return tuple(shown)


def fit_cell(text: str, width: int, right: bool) -> str:
    """``text`` padded to ``width`` terminal cells; a longer one (a name) cut at a cell boundary,
    ending in an ellipsis so that it does not read as whole."""
    if text.isascii() and text.isprintable() and len(text) <= width:  # the common case, quickly
        return text.rjust(width) if right else text.ljust(width)
    cells = cell_len(text)
    if cells > width:
        if width <= 0:
            return ""
        # A full-width character that would straddle the edge goes, as does a space before "…".
        cut = set_cell_size(text, width - 1).rstrip(" ") + "…"
        return cut + " " * (width - cell_len(cut))
    pad = " " * (width - cells)
    return pad + text if right else text + pad
