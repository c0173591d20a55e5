"""The register panel: type a code to register it, read what the station answered, see the detail
and the symbol card of the highlighted row.

The input takes ``7203`` or ``7203@1``; a valid code is posted as :class:`RegisterPanel.SymbolSubmitted`
and the app does the REST call (network I/O never happens in a handler). The outcome line says what
the last REST call did, in words: "7203@1 registered (7/50)", or Kabu's code and what it means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from quoteboard.alerts.book import Alert
from quoteboard.board.model import Row
from quoteboard.board.widgets.alert_list import AlertList
from quoteboard.board.widgets.depth_view import DepthView
from quoteboard.board.widgets.symbol_card import SymbolCard
from quoteboard.kabu.protocol import SymbolKey, parse_symbol
from quoteboard.kabu.state import Limits

__all__ = ["RegisterPanel"]

Tone = Literal["info", "ok", "error"]
_TONE_STYLE = {"info": "", "ok": "green", "error": "bold red"}


class CodeInput(Input):
    """The code input; Escape hands focus back to the board."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Leave input", show=True)]

    class Left(Message):
        """Escape was pressed in the input."""

    def action_leave(self) -> None:
        self.value = ""
        self.post_message(self.Left())


class RegisterPanel(VerticalScroll):
    """The side panel: code input, outcome of the last REST call, detail of the highlighted row."""

    DEFAULT_CSS = """
    RegisterPanel { width: 42; padding: 0 1; border-left: tall $panel-lighten-1; }
    RegisterPanel #outcome { height: auto; min-height: 2; margin: 0 0 1 0; }
    """

    @dataclass
    class SymbolSubmitted(Message):
        """A valid code was entered: register ``key``."""

        key: SymbolKey

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._outcome = ""
        #: The day's price limits of a symbol, when known (the symbol facts set this).
        self.limits: Callable[[SymbolKey], Limits | None] = lambda key: None
        #: Why a symbol's facts (its limits) are not known, if they could not be read.
        self.facts_note: Callable[[SymbolKey], str | None] = lambda key: None
        #: The highlighted symbol's card (made here: its controller holds it before it is mounted).
        self.card = SymbolCard(id="card")

    def compose(self) -> ComposeResult:
        yield CodeInput(placeholder="code, e.g. 7203 or 7203@1", id="code")
        yield Static(id="outcome")
        yield AlertList(id="alerts")
        yield self.card
        yield DepthView(id="depth")

    def show_outcome(self, text: str, tone: Tone = "info") -> None:
        self._outcome = text
        self.query_one("#outcome", Static).update(Text(text, style=_TONE_STYLE[tone]))

    @property
    def outcome(self) -> str:
        """The text of the last outcome shown."""
        return self._outcome

    def show_alerts(self, alerts: list[Alert]) -> None:
        """The highlighted symbol's alerts (the list hides itself when there are none)."""
        self.query_one(AlertList).show(alerts)

    def show_row(self, row: Row | None) -> None:
        if row is None:
            self.query_one(DepthView).show(None)
        else:
            self.query_one(DepthView).show(row, self.limits(row.key), self.facts_note(row.key))
        self.card.follow(row)

    @property
    def shown_key(self) -> SymbolKey | None:
        return self.query_one(DepthView).key

    @on(Input.Submitted, "#code")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.post_message(CodeInput.Left())
            return
        try:
            key = parse_symbol(text)
        except ValueError as exc:
            self.show_outcome(str(exc), "error")
            return
        event.input.value = ""
        self.post_message(self.SymbolSubmitted(key))
