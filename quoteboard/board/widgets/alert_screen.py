"""The alert input: ``!`` on a row asks for a rule (``>1750``, ``<1700``, ``+3%``, ``-3%``, or a board
state: ``limit-up``, ``limit-down``, ``special``, ``open``).

A rule that does not parse, or that the symbol already has armed, is said under the input and nothing
is set; Enter on a good one dismisses the screen with it, Escape with None.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from quoteboard.alerts.book import RULE_HELP, Rule, parse_rule
from quoteboard.board.widgets.columns import format_price
from quoteboard.kabu.protocol import SymbolKey

__all__ = ["AlertScreen"]


class AlertScreen(ModalScreen[Rule | None]):
    """Dismissed with the rule to arm on ``key``, or None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    AlertScreen { align: center middle; }
    AlertScreen > Vertical {
        width: 64; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    AlertScreen Label { width: 100%; }
    AlertScreen #alert-error { color: $text-error; height: auto; min-height: 1; }
    AlertScreen #alert-help { color: $text-muted; margin: 1 0 0 0; }
    """

    def __init__(self, key: SymbolKey, name: str, armed: list[Rule], last: float | None = None) -> None:
        super().__init__()
        self.key = key
        self.symbol_name = name
        #: The last price, shown so a threshold can be typed against it.
        self.last = last
        #: The rules ``key`` already has armed: setting one again is refused.
        self.armed = armed
        self._error = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            # Text, not markup: a name is station text.
            last = f" (last {format_price(self.last)})" if self.last is not None else ""
            title = f"Price alert on {self.key} {self.symbol_name}".rstrip() + last
            yield Label(Text(title), id="alert-title")
            yield Input(placeholder=">1750, <1700, +3% or -3%", id="alert-rule")
            yield Label(id="alert-error")
            yield Label(
                "Or a board state: limit-up, limit-down, special (特別気配) or open (the first "
                "trade). Enter sets it, Escape cancels. The panel lists the row's alerts: Tab to them, "
                "Delete deletes one, Enter re-arms a fired one.",
                id="alert-help",
            )

    @property
    def error(self) -> str:
        """What is said under the input (empty when nothing is wrong)."""
        return self._error

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            rule = parse_rule(event.value)
        except ValueError as exc:
            self._say(str(exc))
            return
        if rule in self.armed:
            self._say(f"{self.key} already has the alert {rule} armed: {RULE_HELP}")
            return
        self.dismiss(rule)

    def _say(self, text: str) -> None:
        self._error = text
        self.query_one("#alert-error", Label).update(Text(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
