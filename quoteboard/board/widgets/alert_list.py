"""The highlighted symbol's alerts, in the side panel: Delete (or x) deletes one, Enter re-arms a
fired one. Hidden when the symbol has none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList

from quoteboard.alerts.book import Alert

__all__ = ["AlertList"]


class AlertList(OptionList):
    """One line per alert of the highlighted symbol: ``! >1750 armed``, ``✓ >1750 fired at 1751
    (10:01:02)``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,x", "delete", "Delete alert", show=False),
        Binding("escape", "leave", "Leave", show=False),
    ]

    DEFAULT_CSS = """
    AlertList { height: auto; max-height: 8; margin: 0 0 1 0; }
    AlertList.-empty { display: none; }
    """

    @dataclass
    class Delete(Message):
        alert: Alert

    @dataclass
    class Rearm(Message):
        alert: Alert

    class Left(Message):
        """Escape: back to the board."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")
        self.alerts: list[Alert] = []

    def show(self, alerts: list[Alert]) -> None:
        """List ``alerts`` (hidden if there are none), keeping the highlight where it was."""
        highlighted = self.highlighted
        self.alerts = list(alerts)
        self.clear_options()
        self.add_options(Text(f"{'!' if alert.armed else '✓'} {alert.describe()}") for alert in self.alerts)
        self.set_class(not self.alerts, "-empty")
        if self.alerts:
            self.highlighted = min(highlighted or 0, len(self.alerts) - 1)

    @property
    def lines(self) -> list[str]:
        return [f"{alert.key} {alert.describe()}" for alert in self.alerts]

    def _current(self) -> Alert | None:
        index = self.highlighted
        return self.alerts[index] if index is not None and index < len(self.alerts) else None

    def action_delete(self) -> None:
        alert = self._current()
        if alert is not None:
            self.post_message(self.Delete(alert))

    def action_leave(self) -> None:
        self.post_message(self.Left())

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        alert = self._current()
        if alert is not None and not alert.armed:
            self.post_message(self.Rearm(alert))
