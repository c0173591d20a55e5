"""The password modal: asked when switching to Kabu Station without a password.

The input masks what is typed; the value goes straight to the caller and is never shown or stored.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from quoteboard.secret import Secret

__all__ = ["PasswordScreen"]


class PasswordScreen(ModalScreen[Secret | None]):
    """Dismissed with the password, or None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PasswordScreen { align: center middle; }
    PasswordScreen > Vertical {
        width: 76; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    PasswordScreen Label { margin: 0 0 1 0; width: 100%; }
    PasswordScreen #refused { color: $text-error; }
    """

    def __init__(self, url: str, refused: str | None = None) -> None:
        super().__init__()
        self.url = url
        #: Why it is asked again: the station's answer to the last password, in words.
        self.refused = refused

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Kabu Station API password for {self.url}", markup=False)
            if self.refused:
                yield Label(f"The station refused the last one: {self.refused}", id="refused", markup=False)
            yield Input(password=True, placeholder="API password (Enter to connect, Escape to cancel)")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        secret = Secret(event.input.value)
        event.input.clear()  # the widget does not keep it either
        if secret:
            self.dismiss(secret)

    def action_cancel(self) -> None:
        self.dismiss(None)
