"""The modal that asks for a watchlist's name (a new list, or a new name for the one shown).

The name is checked while the modal is open: a bad or taken name is said under the input and the
modal stays, so nothing is saved until a good name is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

__all__ = ["ListNameScreen"]


class ListNameScreen(ModalScreen[str | None]):
    """Dismissed with a name that ``check`` accepts, or None if cancelled (Escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ListNameScreen { align: center middle; }
    ListNameScreen > Vertical {
        width: 60; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    ListNameScreen Label { width: 100%; }
    ListNameScreen #problem { color: $text-error; margin: 1 0 0 0; }
    """

    def __init__(self, title: str, check: Callable[[str], str | None], value: str = "") -> None:
        super().__init__()
        self.title_text = title
        #: Why a name cannot be used, or None if it can.
        self.check = check
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield Input(self.value, placeholder="name (Enter to accept, Escape to cancel)", id="name")
            yield Label("", id="problem", markup=False)

    @property
    def problem(self) -> str:
        """What is said under the input (empty when nothing is wrong)."""
        return str(self.query_one("#problem", Label).content)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        problem = self.check(name)
        if problem is not None:
            self.query_one("#problem", Label).update(problem)
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
