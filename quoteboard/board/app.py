"""The board's App: a thin shell around the main screen and its controllers.

It makes the board model, the widgets and one controller per concern (the feed, the watchlists,
the alerts, the positions: :mod:`quoteboard.board.controllers`); the main screen hands them what
the widgets post. Its own: the keys and the palette, the 20 Hz frame clock, the colours, quitting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker

from quoteboard.alerts.book import AlertStore
from quoteboard.board.colours import Palette
from quoteboard.board.controllers.alerts import AlertsController
from quoteboard.board.controllers.colours import ColoursController
from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.controllers.lists import ListsController
from quoteboard.board.controllers.positions import PositionsController
from quoteboard.board.controllers.symbol_facts import SymbolFacts
from quoteboard.board.keys import BOARD_KEYS
from quoteboard.board.model import Board
from quoteboard.board.positions import PositionBook
from quoteboard.board.screen import MainScreen, compose_board
from quoteboard.board.tuning import SETTLE_GC_SECONDS, settle_gc
from quoteboard.board.view import BoardWidgets, Outcome
from quoteboard.board.widgets.help_screen import HelpScreen
from quoteboard.board.widgets.register_panel import CodeInput
from quoteboard.feeds.contract import Feed
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.store.settings import SettingsStore
from quoteboard.store.watchlist import Watchlists, WatchlistStore

if TYPE_CHECKING:
    from quoteboard.history.keeping import HistoryOptions
    from quoteboard.server import TestServer

__all__ = ["QuoteboardApp"]

FRAME_SECONDS: Final = 1 / 20
STATUS_SECONDS: Final = 1.0


class QuoteboardApp(App[int]):
    """The quote board.

    ``sources`` are the feeds ``f`` cycles through, the first one started (see
    :class:`~quoteboard.feeds.source.FeedSource`): by default the demo market and a Kabu station on its
    production URL, whose password is asked for when needed. ``tune_gc`` (the command line sets it)
    settles the garbage collector for a long-running board, see
    :func:`~quoteboard.board.tuning.settle_gc`; it is off by
    default because it changes process-wide state. ``palette`` colours up and down until the user
    saves a choice (the command line passes the locale's, see :mod:`quoteboard.board.user_locale`).
    """

    CSS_PATH = Path(__file__).with_name("quoteboard.tcss")  # absolute: subclasses live elsewhere
    TITLE = "quoteboard"

    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the first of several keys as Textual names it ("d", not "d / Delete").
        Binding(
            key.keys,
            key.action,
            key.label,
            show=key.show,
            id=key.action,
            key_display=None if "," in key.keys else key.display,
        )
        for key in BOARD_KEYS
        if key.action is not None
    ]

    def __init__(
        self,
        *,
        sources: Sequence[FeedSource] = (FeedSource("demo"), FeedSource.kabu()),
        symbols: Iterable[SymbolKey] = (),
        store: WatchlistStore | None = None,
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
        record: Path | None = None,
        tune_gc: bool = False,
        list_name: str | None = None,
        alerts: AlertStore | None = None,
        alert_command: list[str] | None = None,
        settings: SettingsStore | None = None,
        event_command: list[str] | None = None,
        history: HistoryOptions | None = None,
        palette: Palette = "theme",
    ) -> None:
        # Before Textual's __init__, which asks for the CSS variables, so the palette's colours.
        self.board = Board()
        self.widgets = BoardWidgets(self.board, PositionBook())
        #: The palette; ``settings`` None neither reads nor writes the settings file (tests, a replay's).
        self.colours = ColoursController(self, self.widgets, settings=settings, default=palette)
        super().__init__()
        self._tune_gc = tune_gc
        self.table = self.widgets.table
        self.panel = self.widgets.panel
        self.status_bar = self.widgets.status_bar
        self.positions_view = self.widgets.positions
        # (A lambda: the lists are made after the feed, which saves them when a symbol is refused.)
        self.feed_control = FeedController(
            self, self.board, self.widgets, sources=sources, max_symbols=max_symbols, record=record,
            save=lambda: self.watchlists.save(), event_command=event_command, history=history,
        )  # fmt: skip
        self.watchlists = ListsController(
            self, self.board, self.widgets, self.feed_control,
            store=store, list_name=list_name, extra_symbols=symbols,
        )  # fmt: skip
        #: Price alerts; ``alerts`` None keeps them in memory only.
        self.alerts = AlertsController(
            self, self.board, self.widgets, self.feed_control, store=alerts, command=alert_command
        )
        self.positions = PositionsController(self.board, self.feed_control, self.widgets)
        self.facts = SymbolFacts(self.feed_control)  # /symbol once a day: the limits, the card's facts

    @property
    def feed(self) -> Feed | None:
        return self.feed_control.feed

    @property
    def server(self) -> TestServer | None:
        """The embedded station of the current feed (the demo's, a replay's)."""
        return self.feed_control.server

    @property
    def lists(self) -> Watchlists:
        """Every watchlist and the one shown (the board's rows are the shown one's)."""
        return self.watchlists.lists

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(
            self.widgets, feeds=self.feed_control, lists=self.watchlists, alerts=self.alerts,
            positions=self.positions, id="_default",  # Textual's own id for the first screen
        )  # fmt: skip

    def compose(self) -> ComposeResult:
        return compose_board(self.widgets)

    async def on_mount(self) -> None:
        """The settings, the lists, the alerts, the clocks, then the feed."""
        self.colours.load()
        self.watchlists.load()
        self.positions.start()
        self.alerts.start()  # before the feed: armed alerts' symbols are registered with the list
        self.facts.start()
        self.alerts.limits = self.facts.limits
        self.set_interval(FRAME_SECONDS, self._frame)
        self.set_interval(STATUS_SECONDS, self.feed_control.update_status)
        if self._tune_gc:
            self.set_timer(SETTLE_GC_SECONDS, settle_gc)
        await self.feed_control.begin()

    @on(Outcome)
    def _show_outcome(self, event: Outcome) -> None:
        self.panel.show_outcome(event.text, event.tone)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        self.feed_control.worker_failed(event)
        self.positions.load_failed(event)

    def _frame(self) -> None:
        if not self.is_running:
            # Shutting down without App.exit() (Pilot's run_test does so): timers still fire while
            # the widgets are taken down, and the panel would look for a child already gone.
            return
        if self.screen is not self.table.screen and self.screen.styles.background.a == 1:
            return  # covered (the chart): a repaint behind it would repaint it too; drawn when back
        self.positions.frame()
        self.feed_control.draw()

    # -- the keys (the work is in the controllers) ---------------------------------------------------

    def action_add(self) -> None:
        self.panel.query_one(CodeInput).focus()

    def action_remove(self) -> None:
        self.watchlists.remove()

    def action_cycle_sort(self) -> None:
        self.watchlists.cycle_sort()

    async def action_switch_feed(self) -> None:
        await self.feed_control.switch_feed()

    async def action_reconnect(self) -> None:
        await self.feed_control.reconnect()

    def action_next_list(self) -> None:
        self.watchlists.step(1)

    def action_previous_list(self) -> None:
        self.watchlists.step(-1)

    def action_new_list(self) -> None:
        self.watchlists.new()

    def action_rename_list(self) -> None:
        self.watchlists.rename()

    def action_delete_list(self) -> None:
        self.watchlists.delete()

    def action_restore_list(self) -> None:
        self.watchlists.restore()

    def action_alert(self) -> None:
        self.alerts.ask(self.table.cursor_key)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_positions(self) -> None:
        self.positions.toggle()

    async def action_quit(self) -> None:
        await self.feed_control.stop_feed()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.feed_control.shutdown()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a view is shown in its place, the table's own keys would act on rows out of sight.
        if action in ("remove", "cycle_sort") and not self.table.display:
            return False
        return super().check_action(action, parameters)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own "Keys" (its key panel) would sit beside ours under the same title: the board's
        # help screen lists every key, said once in keys.py, so the palette offers that one only.
        textual_keys = (self.action_show_help_panel, self.action_hide_help_panel)
        yield from (
            command for command in super().get_system_commands(screen) if command.callback not in textual_keys
        )
        yield SystemCommand("Add symbol", "Type a code to register (a)", self.action_add)
        yield SystemCommand("Remove symbol", "Remove the highlighted symbol (d)", self.action_remove)
        yield SystemCommand("Switch feed", "Demo ↔ Kabu Station (f)", self.action_switch_feed)
        yield SystemCommand("Cycle sort", "As added, code, change %, volume (s)", self.action_cycle_sort)
        yield SystemCommand("Reconnect", "Start the feed again now (r)", self.action_reconnect)
        yield SystemCommand("Keys", "Show the help screen (?)", self.action_help)
        yield SystemCommand("New list", "Make a watchlist and show it (n)", self.action_new_list)
        yield SystemCommand("Rename list", "Rename the watchlist shown", self.action_rename_list)
        yield SystemCommand("Delete list", "Delete the watchlist shown", self.action_delete_list)
        if self.watchlists.deleted is not None:
            yield SystemCommand(
                "Restore list",
                f"Bring back the list {self.watchlists.deleted[0]!r}",
                self.action_restore_list,
            )
        yield SystemCommand("Next list", "Show the next watchlist (])", self.action_next_list)
        yield SystemCommand("Previous list", "Show the previous watchlist ([)", self.action_previous_list)
        yield from self.alerts.commands()
        yield SystemCommand(
            "Positions", "Positions with live P&L, or the table again (p)", self.action_positions
        )
        yield from self.colours.commands()

    # -- colours: see controllers/colours.py -------------------------------------------------------

    @property
    def palette(self) -> Palette:
        """The palette colouring up and down: the theme's, Japanese or colour-blind."""
        return self.colours.palette

    def set_palette(self, palette: Palette, *, save: bool = True) -> None:
        self.colours.set(palette, save=save)

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        variables.update(self.colours.variables(variables, self.current_theme.dark))
        return variables
