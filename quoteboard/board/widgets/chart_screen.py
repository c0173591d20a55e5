"""The chart screen (``c``): one symbol's day in candles, filled from its history, then live.

It reads the day's candles from a :class:`~quoteboard.history.source.CandleSource` (a tick store,
a relay's or NATS' history, or the board's own :class:`~quoteboard.history.tape.SessionTape`) and
goes on from the last one with a :class:`~quoteboard.history.candles.CandleBuilder` fed by the
board's quotes: the builder takes over at the last history candle's bucket, so no candle is drawn
twice. The forming candle moves with each quote, drawn again at most every ``REDRAW_SECONDS``.
The screen is modal: the board's keys rest while it is shown, its own are in keys.CHART_KEYS.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import ClassVar, Final

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer

from quoteboard.board.chart_layout import ChartText, price_text
from quoteboard.board.keys import CHART_KEYS
from quoteboard.board.widgets.chart_view import ChartView
from quoteboard.feeds.contract import Channel
from quoteboard.history.candles import Candle, CandleBuilder, Interval, Tick, jst_day
from quoteboard.history.source import CandleSource, History, tick_of
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["REDRAW_SECONDS", "ChartScreen", "history_note"]

#: The forming candle is drawn again at most this often (each quote moves it; the eye needs less).
REDRAW_SECONDS: Final = 0.25
#: A day's history that starts after this says where it starts.
SESSION_OPEN: Final = time(9, 0, 59)


def history_note(since: float | None) -> str:
    """What the title says of where the history starts: "from 10:42 JST" when it starts after the
    09:00 open (nothing was running before), nothing when it holds the whole session."""
    if since is None:
        return "waiting for the first trade"
    moment = datetime.fromtimestamp(since, JST)
    return f"from {moment:%H:%M} JST" if moment.time() > SESSION_OPEN else ""


class ChartScreen(ModalScreen[None]):
    """The chart of ``key``: its history from ``source``, then each of its ``quotes``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key.keys, key.action or "", key.label, key_display=key.display.split(" ")[0])
        for key in CHART_KEYS
    ]

    DEFAULT_CSS = """
    ChartScreen { background: $surface; }
    """

    def __init__(
        self,
        key: SymbolKey,
        source: CandleSource,
        quotes: Channel[[Quote]],
        latest: Quote | None = None,
        interval: Interval = "1m",
    ) -> None:
        super().__init__()
        self.key = key
        self.source = source
        self.quotes = quotes
        self.interval: Interval = interval
        self.latest = latest
        self.view = ChartView(id="chart")
        self._finished: list[Candle] = []
        self._builder = CandleBuilder(interval)
        self._since: float | None = None
        #: Ticks that came while the history was being read, added once it is in.
        self._waiting: list[Tick] | None = []
        self._moved = False
        self._problem = ""

    def compose(self) -> ComposeResult:
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.quotes.subscribe(self._on_quote)
        self.set_interval(REDRAW_SECONDS, self._redraw_if_moved)
        self._load()

    def on_unmount(self) -> None:
        self.quotes.unsubscribe(self._on_quote)

    @property
    def candles(self) -> list[Candle]:
        """The candles drawn: the history's and the live ones, the forming one last."""
        forming = self._builder.forming
        return [*self._finished, forming] if forming is not None else list(self._finished)

    def action_interval(self, interval: Interval) -> None:
        if interval != self.interval:
            self.interval = interval
            self._load()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- the data ----------------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        """Read the history of the interval shown, then go on live from its last candle."""
        interval = self.interval
        self._waiting = []
        try:
            history = await self.source.candles(self.key, interval)
        except Exception as exc:
            self._problem = f"no history: {exc}"
            history = History(self.key, interval, [], None)
        else:
            self._problem = ""
        self._start(history)

    def _start(self, history: History) -> None:
        candles = history.candles
        self._builder = CandleBuilder(history.interval)
        self._finished = candles[:-1]
        # A source that does not say where its ticks start starts at its first candle at the latest.
        self._since = history.since if history.since is not None or not candles else candles[0].start
        if candles:
            last = candles[-1]
            # The day's volume so far is what its candles hold (the first holds any earlier trading).
            day = jst_day(last.start)
            self._builder.resume(last, sum(c.volume for c in candles if jst_day(c.start) == day))
        waiting, self._waiting = self._waiting or [], None
        latest = tick_of(self.latest) if self.latest is not None else None
        for tick in [latest, *waiting] if latest is not None else waiting:
            self._add(tick)
        self._show()

    def _on_quote(self, quote: Quote) -> None:
        if quote.key != self.key:
            return
        self.latest = quote
        tick = tick_of(quote)
        if tick is None:
            return
        if self._waiting is not None:
            self._waiting.append(tick)
        else:
            self._add(tick)

    def _add(self, tick: Tick) -> None:
        closed = self._builder.add(tick)
        if closed is not None:
            self._finished.append(closed)
        if self._since is None:
            self._since = tick.time
        self._moved = True

    def _redraw_if_moved(self) -> None:
        if self._moved:
            self._show()

    def _show(self) -> None:
        self._moved = False
        self.view.show(self.candles, ChartText(self._title(), self._previous_close()))

    def _previous_close(self) -> float | None:
        return self.latest.prev_close if self.latest is not None else None

    def _title(self) -> str:
        latest = self.latest
        parts = [f"{self.key}", latest.name if latest is not None and latest.name else "", self.interval]
        forming = self._builder.forming
        if forming is not None:
            parts.append(
                f"O {price_text(forming.open)}  H {price_text(forming.high)}  "
                f"L {price_text(forming.low)}  C {price_text(forming.close)}  V {forming.volume:,.0f}"
            )
            if forming.day_vwap is not None:
                parts.append(f"VWAP {forming.day_vwap:,.1f}")
        previous = self._previous_close()
        if previous is not None:
            parts.append(f"prev {price_text(previous)}")
        parts.append(self._problem or history_note(self._since))
        return "  ".join(part for part in parts if part)
