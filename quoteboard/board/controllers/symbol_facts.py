"""What the station says once a day about each symbol (``GET /symbol``), shared by the board.

The board needs the day's price limits (``UpperLimit``/``LowerLimit``) to mark a row ストップ高 or
ストップ安 and to fire the ``limit-up``/``limit-down`` alerts. They change once a day: the answers are
the feed controller's :class:`~quoteboard.feeds.facts.StationFacts`, kept until the JST day changes,
which the symbol card reads too (one call a day and symbol for both).

A symbol is asked for once it pushes a quote, or once the table draws its row with a quote (a
``/board`` snapshot's, after the close): it is registered then, so ``/symbol``, which registers its
symbol at the station as ``/board`` does, costs no registration slot (a row past the cap is drawn
with its note, never asked for). The asks are paced under Kabu's ~10 requests/s, one after another,
and a refusal is kept in words for the panel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, cast

from quoteboard.board.controllers.feed import FeedController
from quoteboard.feeds.contract import OffersSymbolFacts
from quoteboard.kabu.errors import KabuClientError, NotAsked
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import jst_day
from quoteboard.kabu.state import Limits

__all__ = ["SymbolFacts"]

#: Asks a second, under Kabu's ~10 requests/s shared with registrations and snapshots.
PER_SECOND: Final = 5.0
#: How often the JST day is looked at (the limits of a new day are asked for again).
DAY_CHECK_SECONDS: Final = 60.0
#: A symbol whose ask failed for a passing reason (the station away) is asked again after this.
RETRY_SECONDS: Final = 60.0


class SymbolFacts:
    """Each quoted symbol's ``/symbol`` answer for the day, and the limits in it."""

    def __init__(self, feeds: FeedController, clock: Callable[[], float] = time.time) -> None:
        self.feeds = feeds
        self._clock = clock
        self._day = jst_day(clock())
        self._limits: dict[SymbolKey, Limits] = {}
        #: Symbols asked for today (answered, failed or on the way): each is asked once a day.
        self._asked: set[tuple[str, int]] = set()
        self._waiting: list[SymbolKey] = []
        self._running = False
        #: Why a symbol's facts are not known (its /symbol refused or unreachable), in words.
        self.failures: dict[SymbolKey, str] = {}

    def start(self) -> None:
        """Follow every decoded quote; a new feed (another station) is asked again."""
        self.feeds.quotes.subscribe(self.on_quote)
        self.feeds.started.append(self.forget)
        self.feeds.table.limits = self.limits_asking
        self.feeds.panel.limits = self.limits
        self.feeds.panel.facts_note = self.failures.get
        self.feeds.table.set_interval(DAY_CHECK_SECONDS, self._new_day)

    def limits(self, key: SymbolKey) -> Limits | None:
        """Today's limits of ``key``, None before its answer came (or when it has none)."""
        return self._limits.get(key)

    def limits_asking(self, key: SymbolKey) -> Limits | None:
        """:meth:`limits`, asking for them first if ``key`` has not been asked for today (the
        table's rows: drawn with a quote, so registered)."""
        limits = self._limits.get(key)
        if limits is None and key not in self._asked:
            self._want(key)
        return limits

    def forget(self) -> None:
        """Drop every answer: a new day, or a new feed."""
        self.feeds.station_facts.forget()
        self._day = jst_day(self._clock())
        self._limits.clear()
        self._asked.clear()
        self._waiting.clear()
        self.failures.clear()
        self._running = False  # (the old feed's worker is cancelled with it)

    def _new_day(self) -> None:
        if jst_day(self._clock()) != self._day:
            self.forget()

    def on_quote(self, quote: Quote) -> None:
        """Every quote the feed decodes: one set lookup, unless the symbol is new today."""
        exchange = quote.exchange
        key = (quote.symbol, 1 if exchange is None else exchange)
        if key not in self._asked:
            self._want(SymbolKey(*key))

    def _want(self, key: SymbolKey) -> None:
        self._asked.add(key)
        self._waiting.append(key)
        if not self._running:
            self._running = True
            self.feeds.spawn(self._ask_all, name="symbol facts")

    async def _ask_all(self) -> None:
        feed = self.feeds.feed
        try:
            if not isinstance(feed, OffersSymbolFacts):
                self._waiting.clear()  # NATS: quotes only, no /symbol (no limits, no limit marks)
                return
            first = True
            while self._waiting:
                if not first:
                    await asyncio.sleep(1.0 / PER_SECOND)
                first = False
                key = self._waiting.pop(0)
                await self._ask(feed, key)
        finally:
            self._running = False

    async def _ask(self, feed: OffersSymbolFacts, key: SymbolKey) -> None:
        try:
            facts = await self.feeds.station_facts.symbol(feed, key)
        except NotAsked:  # unregistered since it was quoted (another list): asked when quoted again
            self._asked.discard(key)
            return
        except KabuClientError as exc:  # KabuError (a refusal) included
            self.failures[key] = f"limits not known: {exc}"
            self.feeds.board.mark_dirty(key)  # the panel says why
            if exc.transient:
                self.feeds.table.set_timer(RETRY_SECONDS, lambda: self._asked.discard(key))
            return
        if self.feeds.feed is not cast(object, feed):  # a switch of feed while this was on the way
            return
        limits = Limits.of(facts)
        if limits is not None:
            self._limits[key] = limits
        self.failures.pop(key, None)
        self.feeds.board.mark_dirty(key)  # the row's mark may change with the limits
