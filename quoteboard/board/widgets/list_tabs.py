"""The tabs above the table: one label per watchlist, the one shown highlighted.

One line of text, not Textual's ``Tabs``: it takes no focus (the table keeps the keys) and is redrawn
only when a list is made, renamed, deleted or switched to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

__all__ = ["ListTabs", "tabs_text"]


def tabs_text(names: Sequence[str], shown: str) -> Text:
    """`` main  banks  tech `` with ``shown`` stand out; names are never parsed as markup."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for name in names:
        if name == shown:
            text.append(f" {name} ", style="bold reverse")
        else:
            text.append(f" {name} ", style="dim")
        text.append(" ")
    text.append(" [ ] switch · n new", style="dim italic")
    return text


def tab_at(names: Sequence[str], x: int) -> str | None:
    """The name whose tab covers cell ``x`` of :func:`tabs_text`, if any."""
    start = 0
    for name in names:
        end = start + cell_len(name) + 2  # the label and its padding; the gap after is no tab's
        if start <= x < end:
            return name
        start = end + 1
    return None


class ListTabs(Static):
    """The watchlists' names; :meth:`show` redraws them. A click on a name posts :class:`Selected`."""

    @dataclass
    class Selected(Message):
        """A tab was clicked."""

        name: str

    DEFAULT_CSS = """
    ListTabs { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.names: list[str] = []
        self.shown = ""

    def show(self, names: Sequence[str], shown: str) -> None:
        self.names, self.shown = list(names), shown
        self.update(tabs_text(self.names, shown), layout=False)  # one line, always: no relayout

    def on_click(self, event: events.Click) -> None:
        name = tab_at(self.names, event.x)
        if name is not None and name != self.shown:
            self.post_message(self.Selected(name))
