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

import functools
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from quoteboard.board.controllers.alerts import AlertsController
from quoteboard.board.controllers.card import CardController
from quoteboard.board.controllers.charts import ChartController
from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.controllers.lists import ListsController
from quoteboard.board.controllers.movers import MoversController
from quoteboard.board.controllers.positions import PositionsController
from quoteboard.board.view import BoardWidgets
from quoteboard.board.widgets.alert_list import AlertList
from quoteboard.board.widgets.layout import SIDE_BY_SIDE_FROM, BottomBars, MainRow, SideColumn, TopBar
from quoteboard.board.widgets.list_tabs import ListTabs
from quoteboard.board.widgets.movers_view import MoversView
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
        yield widgets.movers
        with SideColumn(id="side"):
            yield widgets.panel
    with BottomBars(id="bottom"):
        yield widgets.status_bar
        yield Footer()


class _ScreenCommands(Provider):
    """The palette's commands for the screen's own actions (the app's are its system commands)."""

    COMMANDS: ClassVar = (("Movers", "The station's rankings of the market's movers (m)", "movers"),)

    async def discover(self) -> Hits:
        for name, help_text, action in self.COMMANDS:
            yield DiscoveryHit(name, functools.partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self.COMMANDS:
            if (score := matcher.match(name)) > 0:
                run = functools.partial(self.screen.run_action, action)
                yield Hit(score, matcher.highlight(name), run, text=name, help=help_text)


class MainScreen(Screen[Any]):
    """The board's screen: its widgets cover it whole. It has the class ``-narrow`` or ``-wide``
    by its width (quoteboard.tcss lays the board out by it)."""

    BLANK = True
    COMMANDS: ClassVar = {_ScreenCommands}
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
        self.card = CardController(feeds, widgets.panel.card)
        self.movers = MoversController(feeds, lists, widgets)
        self.charts = ChartController(feeds)

    @on(QuoteTable.Highlighted)
    def _highlighted(self, event: QuoteTable.Highlighted) -> None:
        self.feeds.highlighted(event.key)
        self.card.show(event.key)
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

    def action_movers(self) -> None:
        self.movers.toggle()

    @on(MoversView.Step)
    def _movers_step(self, event: MoversView.Step) -> None:
        self.movers.step(event.types, event.markets)

    @on(MoversView.AddAsked)
    def _add_mover(self, event: MoversView.AddAsked) -> None:
        self.movers.add(event.key)

    @on(MoversView.AskAgain)
    def _ask_movers_again(self) -> None:
        self.movers.ask()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.movers.load_failed(event)

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
