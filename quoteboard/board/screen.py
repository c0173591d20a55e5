"""The main screen: the board's widgets laid out, and what they post handed to the controllers.

The screen and its containers are ``BLANK`` (see :mod:`quoteboard.board.widgets.layout`): a repaint
of a table row leaves the panel and the bars out. The widgets are made by the app
(:class:`~quoteboard.board.view.BoardWidgets`) so that the controllers hold them; each message a
widget posts is handled here with ``@on`` and passed to the controller whose concern it is.

The app composes :func:`compose_board` into this screen (rather than the screen composing itself)
because the app's own mount then follows the whole tree's, every widget's children included: the
start-up fills the table and the panel there.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from quoteboard.board.controllers.alerts import AlertsController
from quoteboard.board.controllers.charts import ChartController
from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.controllers.lists import ListsController
from quoteboard.board.controllers.positions import PositionsController
from quoteboard.board.view import BoardWidgets
from quoteboard.board.widgets.alert_list import AlertList
from quoteboard.board.widgets.layout import SIDE_BY_SIDE_FROM, BottomBars, MainRow, SideColumn, TopBar
from quoteboard.board.widgets.list_tabs import ListTabs
from quoteboard.board.widgets.positions_view import PositionsView
from quoteboard.board.widgets.quote_table import QuoteTable
from quoteboard.board.widgets.register_panel import CodeInput, RegisterPanel

__all__ = ["MainScreen", "compose_board"]


def compose_board(widgets: BoardWidgets) -> ComposeResult:
    """The main screen's widgets in their containers."""
    with TopBar(id="top"):
        yield widgets.tabs
    with MainRow(id="main"):
        yield widgets.table
        yield widgets.positions
        with SideColumn(id="side"):
            yield widgets.panel
    with BottomBars(id="bottom"):
        yield widgets.status_bar
        yield Footer()


class MainScreen(Screen[Any]):
    """The board's screen: its widgets cover it whole. It has the class ``-narrow`` or ``-wide``
    by its width (quoteboard.tcss lays the board out by it)."""

    BLANK = True
    # (Textual declares it as an instance variable, so it cannot be annotated as a ClassVar here.)
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (SIDE_BY_SIDE_FROM, "-wide"),
    ]

    def __init__(
        self,
        widgets: BoardWidgets,
        *,
        feeds: FeedController,
        lists: ListsController,
        alerts: AlertsController,
        positions: PositionsController,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.widgets = widgets
        self.feeds = feeds
        self.lists = lists
        self.alerts = alerts
        self.positions = positions
        self.charts = ChartController(feeds)

    @on(QuoteTable.Highlighted)
    def _highlighted(self, event: QuoteTable.Highlighted) -> None:
        self.feeds.highlighted(event.key)
        self.alerts.show(event.key)

    @on(RegisterPanel.SymbolSubmitted)
    def _symbol_submitted(self, event: RegisterPanel.SymbolSubmitted) -> None:
        self.lists.add(event.key)

    @on(CodeInput.Left)
    @on(AlertList.Left)
    def _back_to_table(self) -> None:
        self.widgets.table.focus()

    @on(ListTabs.Selected)
    def _tab_clicked(self, event: ListTabs.Selected) -> None:
        self.lists.select(event.name)

    @on(AlertList.Delete)
    def _delete_alert(self, event: AlertList.Delete) -> None:
        self.alerts.delete(event.alert)

    @on(AlertList.Rearm)
    def _rearm_alert(self, event: AlertList.Rearm) -> None:
        self.alerts.rearm(event.alert)

    @on(PositionsView.ReloadAsked)
    def _reload_positions(self) -> None:
        self.positions.reload_now()

    def action_chart(self) -> None:
        """The chart of the highlighted row (``c``)."""
        key = self.widgets.table.cursor_key
        if key is None:
            self.feeds.say("no symbol to chart: add one first (a)")
            return
        self.app.push_screen(self.charts.screen(key))
