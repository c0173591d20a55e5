"""The help screen (``?``): what the board shows, every key (from :mod:`quoteboard.board.keys`) and
the legend of the board state's marks (from :mod:`quoteboard.kabu.state`)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from quoteboard.board.keys import help_lines
from quoteboard.kabu.state import LEGEND

__all__ = ["HelpScreen"]

ABOUT = (
    "Prices are Kabu Station's PUSH board snapshots (about one per symbol every 400 ms). Bid is the "
    "best buy, ask the best sell (Kabu's own field names are the other way round; quoteboard "
    "translates). Last flashes for half a second when it moves, up green and down red: red and "
    "green with the Japanese palette (the default in a Japanese locale), blue and orange with the "
    "colour-blind one (Ctrl+P). No updates over the "
    "lunch break or after the close is normal. The watchlist is shared by both feeds and kept in "
    "watchlist.toml in the config directory; the API password is never saved."
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, what in help_lines():
        table.add_row(key, what)
    return table


def legend_table() -> Table:
    """Each mark of the St column beside Last, and what it means."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for state in LEGEND:
        table.add_row(Text(state.mark), Text(state.words))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 86; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    HelpScreen #help-about { margin: 1 0 0 0; color: $text-muted; }
    HelpScreen #help-marks-title { margin: 1 0 0 0; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("quoteboard: keys", style="bold"))
            yield Static(help_table(), id="help-keys")
            yield Static(
                Text("Marks beside Last (St): the board's state", style="bold"), id="help-marks-title"
            )
            yield Static(legend_table(), id="help-marks")
            yield Static(Text(ABOUT), id="help-about")
            yield Static(Text("Escape closes this screen.", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
