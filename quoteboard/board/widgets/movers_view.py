"""The movers view (``m``): the station's rankings (``GET /ranking``) in place of the quote table.

← → choose the type (値上がり率, 売買高上位 ... the sector rankings), ``e`` / ``E`` the market; ``a``
or Enter adds the highlighted mover to the list shown (:class:`MoversView.AddAsked`), ``u`` asks the
station again (:class:`MoversView.AskAgain`, also posted when the type or market changes). What is
drawn is a :class:`~quoteboard.board.movers.MoversBook`'s choice, which the movers controller
(:mod:`quoteboard.board.controllers.movers`) fills; rises and falls take ``$quote-up-text`` and
``$quote-down-text``. The columns that do not fit a narrow screen go, least useful first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from quoteboard.board.movers import MoversBook
from quoteboard.board.widgets.columns import BLANK, fit_cell
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ranking import Mover, RankingColumn
from quoteboard.kabu.records import JST

__all__ = ["MoversTable", "MoversView", "format_figure"]

#: A name shorter than this is not worth showing.
NAME_MIN: Final = 8
#: Each column's padding (a cell either side) and the table's scrollbar.
PAD: Final = 2
SCROLLBAR: Final = 2
#: The view's keys on its title line, the short form where the long one does not fit.
HINTS: Final = ("← → type · e market · a/Enter add · u ask again · m/Esc back", "←→ type · e market · a add")


def format_figure(column: RankingColumn, value: object) -> str:
    """A mover's figure as the column writes it."""
    if value is None or value == "":
        return BLANK
    if column.style == "text" or not isinstance(value, (int, float)):
        return str(value)
    style = column.style
    if style == "signed":
        return f"{value:+,.1f}"
    if style == "pct":
        return f"{value:+.2f}%"
    if style == "count":
        return f"{value:,.0f}"
    if style == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.1f}"  # price, qty


class MoversTable(DataTable[Text]):
    """The movers, a row each; its keys are the view's (they shadow the board's while it is focused)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step_type(-1)", "Prev type", show=False),
        Binding("right", "step_type(1)", "Next type", show=False),
        Binding("e", "step_market(1)", "Market", show=False),
        Binding("E", "step_market(-1)", "Prev market", show=False),
        Binding("a,enter", "add", "Add mover", show=False),
        Binding("u", "ask_again", "Ask again", show=False),
        Binding("escape", "screen.movers", "Back", show=False),
    ]

    def action_step_type(self, by: int) -> None:
        self.post_message(MoversView.Step(by, 0))

    def action_step_market(self, by: int) -> None:
        self.post_message(MoversView.Step(0, by))

    def action_add(self) -> None:
        self.post_message(MoversView.AddAsked(self._cursor_key()))

    def action_ask_again(self) -> None:
        self.post_message(MoversView.AskAgain())

    #: The symbol of each row, in order (None: a sector's).
    row_keys: tuple[SymbolKey | None, ...] = ()

    def _cursor_key(self) -> SymbolKey | None:
        row = self.cursor_row
        return self.row_keys[row] if 0 <= row < len(self.row_keys) else None


class MoversView(Vertical, can_focus=False):
    """The rankings view: a title line, a note in words when there is one, the movers."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"movers-view--up", "movers-view--down", "movers-view--muted"}

    DEFAULT_CSS = """
    MoversView { background: $surface; padding: 0 1; }
    MoversView > #movers-title { height: 1; text-style: bold; }
    MoversView > #movers-note { height: auto; color: $text-warning; }
    MoversView > MoversTable { height: 1fr; background: $surface; }
    MoversView > .movers-view--up { color: $quote-up-text; }
    MoversView > .movers-view--down { color: $quote-down-text; }
    MoversView > .movers-view--muted { color: $text-muted; text-style: not bold; }
    """

    @dataclass
    class Step(Message):
        """← → (``types``) or ``e`` / ``E`` (``markets``): another ranking chosen."""

        types: int
        markets: int

    @dataclass
    class AddAsked(Message):
        """``a`` or Enter on a mover: ``key`` onto the list shown (None: a sector, or nothing)."""

        key: SymbolKey | None

    class AskAgain(Message):
        """``u``: ask the station now."""

    def __init__(self, book: MoversBook, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = book
        self.note: str | None = None
        #: Answers drawn (tests wait on it).
        self.draws = 0

    def compose(self) -> ComposeResult:
        yield Static(id="movers-title")
        yield Static(id="movers-note")
        yield MoversTable(cursor_type="row", zebra_stripes=False)

    @property
    def table(self) -> MoversTable:
        return self.query_one(MoversTable)

    def focus_table(self) -> None:
        self.table.focus()

    def show_note(self, note: str | None) -> None:
        self.note = note
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()  # the columns that fit are chosen for the width

    # -- drawing ---------------------------------------------------------------------------------

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        book = self.book
        kind = book.kind
        shown = book.shown
        muted = self.get_component_rich_style("movers-view--muted", partial=True)
        title = Text(f"{kind.name} {kind.label}", style="bold")
        market = "every market" if kind.sectors else book.market_name
        title.append(f" · {market}")
        if shown is not None:
            title.append(f" · {shown.at.astimezone(JST):%H:%M:%S}", style=muted)
        room = self.content_size.width - title.cell_len - 3
        hint = next((hint for hint in HINTS if cell_len(hint) <= room), "")
        title.append(f"   {hint}", style=muted)
        self.query_one("#movers-title", Static).update(title)
        note = self.note or (shown.note if shown is not None else None)
        note_widget = self.query_one("#movers-note", Static)
        note_widget.display = note is not None
        note_widget.update(Text(note or ""))
        self._fill(shown.ranking.movers if shown is not None and shown.ranking.type is kind else ())
        self.draws += 1

    def _signed(self, text: str, value: object) -> Text:
        if not isinstance(value, (int, float)) or value == 0:
            return Text(text, justify="right")
        part = "movers-view--up" if value > 0 else "movers-view--down"
        return Text(text, style=self.get_component_rich_style(part, partial=True), justify="right")

    def _fill(self, movers: tuple[Mover, ...]) -> None:
        table = self.table
        kind = self.book.kind
        previous = table.cursor_row
        cells: dict[str, list[Text]] = {"#": [], "Code": [], "Name": []}
        figures = list(kind.columns)
        for column in figures:
            cells[column.field] = []
        for mover in movers:
            cells["#"].append(Text(str(mover.rank), justify="right"))
            cells["Code"].append(Text(mover.key.code if mover.key is not None else ""))
            cells["Name"].append(Text(mover.name))
            for column in figures:
                value = mover.values.get(column.field)
                text = format_figure(column, value)
                if column.style in ("signed", "pct"):
                    cells[column.field].append(self._signed(text, value))
                else:
                    cells[column.field].append(
                        Text(text, justify="left" if column.style == "text" else "right")
                    )
        titles = {"#": "#", "Code": "Code", "Name": "Sector" if kind.sectors else "Name"}
        titles |= {column.field: column.title for column in figures}
        widths = {key: max([cell_len(titles[key]), *(t.cell_len for t in cells[key])]) for key in cells}
        keep = ["#", *([] if kind.sectors else ["Code"]), "Name"]
        room = self.size.width - SCROLLBAR - sum(PAD + widths[key] for key in keep if key != "Name")
        room -= PAD + min(widths["Name"], NAME_MIN)
        chosen: list[RankingColumn] = []
        for priority in sorted({column.priority for column in figures}):
            group = [column for column in figures if column.priority == priority]
            need = sum(PAD + widths[column.field] for column in group)
            if need > room:
                break
            chosen.extend(group)
            room -= need
        name_width = min(widths["Name"], NAME_MIN + max(0, room))
        table.clear(columns=True)
        for key in keep:
            table.add_column(titles[key], width=name_width if key == "Name" else widths[key], key=key)
        shown = [column for column in figures if column in chosen]
        for column in shown:
            label = Text(column.title, justify="left" if column.style == "text" else "right")
            table.add_column(label, width=widths[column.field], key=column.field)
        for index, mover in enumerate(movers):
            name = Text(fit_cell(mover.name, name_width, right=False).rstrip())
            row = [cells["#"][index], *([] if kind.sectors else [cells["Code"][index]]), name]
            row += [cells[column.field][index] for column in shown]
            table.add_row(*row)
        table.row_keys = tuple(mover.key for mover in movers)
        if movers:
            table.move_cursor(row=min(previous, len(movers) - 1), animate=False)
