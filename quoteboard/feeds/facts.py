"""What the current feed's station says about a symbol once a day, kept for the day.

One :class:`StationFacts` per board (the feed controller's ``station_facts``), shared by whoever shows
these answers: each of ``/symbol``, ``/primaryexchange`` and ``/regulations`` is asked once per JST
day and symbol, and asks made at the same time share one call (:class:`~quoteboard.kabu.daily.DailyCache`).
A new feed starts afresh: the demo's market is not the station's, and a new demo is a new market.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from quoteboard.feeds.contract import OffersSymbolFacts
from quoteboard.kabu.daily import DailyCache
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.reference import PrimaryExchange, Regulation, SymbolFacts

__all__ = ["StationFacts"]


class _Caches:
    """The day's answers of one feed."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.symbol: DailyCache[SymbolFacts] = DailyCache(clock)
        self.primary: DailyCache[PrimaryExchange] = DailyCache(clock)
        self.regulations: DailyCache[tuple[Regulation, ...]] = DailyCache(clock)


class StationFacts:
    """``/symbol``, ``/primaryexchange`` and ``/regulations`` of the feed given, read once a day.
    The coroutines raise what the feed's calls raise (a failure is not kept: asked again next time)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # Weak: a feed gone (its embedded demo station with it) is not kept alive by its answers.
        self._feed: weakref.ref[OffersSymbolFacts] | None = None
        self._caches = _Caches(clock)

    def _of(self, feed: OffersSymbolFacts) -> _Caches:
        if self._feed is None or self._feed() is not feed:  # only the current feed's are kept
            self._feed = weakref.ref(feed)
            self._caches = _Caches(self._clock)
        return self._caches

    def forget(self) -> None:
        """Drop every answer held (as a new JST day does by itself)."""
        self._caches = _Caches(self._clock)

    def peek(
        self, feed: OffersSymbolFacts, key: SymbolKey
    ) -> tuple[SymbolFacts | None, PrimaryExchange | None, tuple[Regulation, ...] | None]:
        """Today's answers held for ``key``, each None if not held, without asking."""
        caches = self._of(feed)
        return caches.symbol.peek(key), caches.primary.peek(key.code), caches.regulations.peek(key)

    async def symbol(self, feed: OffersSymbolFacts, key: SymbolKey) -> SymbolFacts:
        """``/symbol``: the station registers ``key`` if it does not hold it; ask only if it does."""
        return await self._of(feed).symbol.get(key, lambda: feed.symbol_facts(key))

    async def primary_exchange(self, feed: OffersSymbolFacts, code: str) -> PrimaryExchange:
        return await self._of(feed).primary.get(code, lambda: feed.primary_exchange(code))

    async def regulations(self, feed: OffersSymbolFacts, key: SymbolKey) -> tuple[Regulation, ...]:
        return await self._of(feed).regulations.get(key, lambda: feed.regulations(key))
