"""The chart controller: where a chart's history comes from, and the board's own memory of the day.

A chart reads ``feed_control.history`` when something better than the board holds the day (a tick
store, a relay's or NATS' history). Otherwise it reads the :class:`SessionTape` this controller
fills with every quote from the board's start; on the demo, the tape gets the demo market's
synthesized morning first (:func:`~quoteboard.history.demo.morning_ticks`), so the chart is full from
09:00 however late the board was started.
"""

from __future__ import annotations

from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.widgets.chart_screen import ChartScreen
from quoteboard.history.demo import morning_ticks
from quoteboard.history.source import CandleSource, tick_of
from quoteboard.history.tape import SessionTape
from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["ChartController"]


class ChartController:
    """Makes the chart screen of a symbol, with the history it should read."""

    def __init__(self, feeds: FeedController) -> None:
        self.feeds = feeds
        self.tape = SessionTape()
        #: Symbols whose demo morning the tape holds already (asked once a feed).
        self._mornings: set[SymbolKey] = set()
        feeds.quotes.subscribe(self._on_quote)
        feeds.started.append(self._feed_started)

    def _on_quote(self, quote: Quote) -> None:
        tick = tick_of(quote)
        if tick is not None:
            self.tape.add(quote.key, tick)

    def _feed_started(self) -> None:
        # Another feed's prices must not pass for this one's.
        self.tape.clear()
        self._mornings.clear()

    def source(self, key: SymbolKey) -> CandleSource:
        """Where ``key``'s chart reads its history."""
        if self.feeds.history is not None:
            return self.feeds.history
        server = self.feeds.server
        if server is not None and key not in self._mornings:
            self._mornings.add(key)
            self.tape.prepend(key, morning_ticks(server, key))
        return self.tape

    def screen(self, key: SymbolKey) -> ChartScreen:
        """The chart of ``key``, filled from its history, then live from the board's quotes."""
        row = self.feeds.board.rows.get(key)
        return ChartScreen(key, self.source(key), self.feeds.quotes, row.quote if row is not None else None)
