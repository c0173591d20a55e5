"""The alerts controller: what ``!``, the panel's alert list and the palette do, and what happens
when an alert fires (a notification, the bell, the row marked, ``--alert-command`` run).

The checking itself is :meth:`AlertBook.check <quoteboard.alerts.book.AlertBook.check>`, subscribed to the
feed controller's ``quotes`` (one dict lookup a quote). Symbols with armed alerts are pinned
(``FeedController.set_pinned("alerts", ...)``) so they stay registered when they are not on the
list on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import App, SystemCommand

from quoteboard.alerts.book import Alert, AlertBook, AlertStore, LimitsOf, Rule, format_price
from quoteboard.alerts.command import run_alert_command
from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.model import Board
from quoteboard.board.view import BoardWidgets
from quoteboard.board.widgets.alert_screen import AlertScreen
from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["AlertsController"]


class AlertsController:
    """The board's alerts: ``store`` None keeps them in memory only (a replay's board). ``host`` is
    the app that shows notifications and runs ``--alert-command``."""

    def __init__(
        self,
        host: App[Any],
        board: Board,
        widgets: BoardWidgets,
        feeds: FeedController,
        *,
        store: AlertStore | None,
        command: list[str] | None,
    ) -> None:
        self.host = host
        self.board = board
        self.table = widgets.table
        self.panel = widgets.panel
        self.feeds = feeds
        self.store = store
        self.command = command
        self.book = AlertBook()
        self._save_error: str | None = None
        #: The day's limits of a symbol, for the limit rules (the symbol facts set this).
        self.limits: LimitsOf = lambda key: None

    def start(self) -> None:
        """Load the saved alerts, watch the quotes, pin the armed alerts' symbols."""
        if self.store is not None:
            loaded = self.store.load()
            self.book = loaded.book
            if loaded.message:
                self.host.notify(loaded.message, title="alerts", severity="warning", timeout=12)
        self.feeds.quotes.subscribe(self.on_quote)
        self._changed(save=False)

    # -- firing ------------------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        fired = self.book.check(quote, self.limits)
        if fired:
            self._fired(fired)

    def _fired(self, fired: list[Alert]) -> None:
        host = self.host
        for alert in fired:
            price = format_price(alert.fired_price) if alert.fired_price is not None else "?"
            host.notify(
                f"{alert.key} {alert.name}\n{alert.rule} at {price}",  # the name may wrap: rule apart
                title="alert",
                severity="warning",
                timeout=15,
                markup=False,  # the name is station text
            )
            if self.command is not None:
                host.run_worker(self._run_command(self.command, alert), group="alerts", exit_on_error=False)
        host.bell()
        self._changed()

    async def _run_command(self, argv: list[str], alert: Alert) -> None:
        failure = await run_alert_command(argv, alert)
        if failure is not None:
            self.host.notify(failure, title="alert command", severity="error", timeout=15, markup=False)

    # -- setting, deleting, re-arming ----------------------------------------------------------------

    def ask(self, key: SymbolKey | None) -> None:
        """``!``: the alert input for ``key`` (the highlighted row)."""
        if key is None:
            self.host.notify("no row highlighted: add a symbol first (a)", title="alert")
            return
        row = self.board.rows.get(key)
        quote = row.quote if row is not None else None
        name = quote.name or "" if quote is not None else ""
        armed = [alert.rule for alert in self.book.of(key) if alert.armed]

        def got(rule: Rule | None) -> None:
            if rule is not None:
                self.add(key, rule)

        self.host.push_screen(AlertScreen(key, name, armed, quote.last if quote is not None else None), got)

    def add(self, key: SymbolKey, rule: Rule) -> None:
        try:
            self.book.add(key, rule)
        except ValueError as exc:  # the screen checks first; a race with a fire is still said
            self.host.notify(str(exc), title="alert", severity="warning")
            return
        self._changed()

    def delete(self, alert: Alert) -> None:
        self.book.remove(alert)
        self._changed()

    def rearm(self, alert: Alert) -> None:
        self.book.rearm(alert)
        self._changed()

    def show(self, key: SymbolKey | None) -> None:
        """The panel lists ``key``'s alerts (the highlighted row's)."""
        self.panel.show_alerts(self.book.of(key) if key is not None else [])

    def _changed(self, save: bool = True) -> None:
        """After any change: save, mark the rows with a fired alert, pin the armed ones' symbols,
        refresh the panel's list."""
        host = self.host
        if save and self.store is not None:
            error = self.store.save(self.book)
            if error and error != self._save_error:
                host.notify(error, title="alerts not saved", severity="error", timeout=12)
            self._save_error = error
        self.table.set_marked(alert.key for alert in self.book if not alert.armed)
        self.feeds.set_pinned("alerts", self.book.armed_keys())
        self.show(self.table.cursor_key)

    # -- the command palette -----------------------------------------------------------------------

    def commands(self) -> Iterable[SystemCommand]:
        """Set an alert; delete or re-arm each of the highlighted symbol's alerts."""
        key = self.table.cursor_key
        yield SystemCommand("Set alert", "A price alert on the highlighted row (!)", lambda: self.ask(key))
        if key is None:
            return
        for alert in self.book.of(key):
            yield SystemCommand(
                f"Delete alert {key} {alert.rule}", alert.describe(), _bind(self.delete, alert)
            )
            if not alert.armed:
                yield SystemCommand(
                    f"Re-arm alert {key} {alert.rule}", alert.describe(), _bind(self.rearm, alert)
                )


def _bind(method: Callable[[Alert], None], alert: Alert) -> Callable[[], None]:
    """``method(alert)`` later (a lambda in the loop would see the loop's last alert)."""
    return lambda: method(alert)
