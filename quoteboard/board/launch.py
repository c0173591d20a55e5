"""Starting the board from the command line: the watchlist and settings stores, the sources, the recording.

:func:`run_board` is what ``quoteboard [--demo | --kabu | --replay FILE]`` calls. A replay goes through
the same embedded test server as the demo (so the same client code path), pushing the recording
instead of the simulated market; a replayed board shows the recording's symbols and leaves the saved
watchlist and settings alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quoteboard.alerts.book import AlertStore
from quoteboard.board.app import QuoteboardApp
from quoteboard.board.user_locale import default_palette
from quoteboard.feeds.source import FeedSource
from quoteboard.history.keeping import HistoryOptions
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.store.settings import SettingsStore
from quoteboard.store.watchlist import WatchlistStore

__all__ = ["board_app", "run_board"]


def board_app(
    source: FeedSource,
    kabu: FeedSource,
    *,
    symbols: list[SymbolKey],
    recorded: list[SymbolKey] | None = None,
    record: Path | None = None,
    tune_gc: bool = False,
    list_name: str | None = None,
    alert_command: list[str] | None = None,
    event_command: list[str] | None = None,
    nats: FeedSource | None = None,
    history: HistoryOptions | None = None,
) -> QuoteboardApp:
    """The board on ``source``, ``f`` switching to ``kabu`` (or to the demo, from Kabu) and back;
    with ``nats`` (a NATS source), ``f`` cycles demo → Kabu → NATS. ``recorded`` are a replay's
    symbols: shown unless ``symbols`` are given, and the saved watchlist is left alone.
    ``list_name`` is the watchlist to open (made if new); ``history`` None writes no tick store."""
    if source.kind == "nats":
        sources = [source, FeedSource("demo"), kabu]
    else:
        sources = [source, FeedSource("demo") if source.kind == "kabu" else kabu]
        if nats is not None:
            sources.append(nats)
    store = WatchlistStore() if recorded is None else None
    settings = SettingsStore() if recorded is None else None
    if recorded is not None:
        symbols = symbols or recorded[:DEFAULT_MAX_SYMBOLS]
    # A replay's board starts with no alerts and saves none: old prices must not fire the saved ones.
    alerts = AlertStore() if recorded is None else None
    return QuoteboardApp(sources=sources, symbols=symbols, store=store, record=record, tune_gc=tune_gc,
                         alerts=alerts, alert_command=alert_command, list_name=list_name,
                         settings=settings, event_command=event_command, history=history,
                         palette=default_palette())  # fmt: skip


def run_board(source: FeedSource, kabu: FeedSource, **options: Any) -> int:
    """Run :func:`board_app` until the user quits (its garbage collector settled for a long day);
    returns the exit status."""
    app = board_app(source, kabu, tune_gc=True, **options)
    app.run()
    return app.return_code or 0
