"""The symbol card's controller: the highlighted row's facts, read from the station once a day.

The answers come from the feed controller's :class:`~quoteboard.feeds.facts.StationFacts`, shared by
the whole board. ``GET /symbol`` registers its symbol at the station, so it is asked only for a
symbol the station holds already: a row not registered (yet, or past the cap) waits for it, and
never costs a registration slot. ``/primaryexchange`` and ``/regulations`` register nothing.

Reading starts once the highlight has rested a moment (holding an arrow key down asks for nothing on
the way) and is cancelled when it moves on or the feed changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Final

from textual.worker import Worker

from quoteboard.board.widgets.symbol_card import READING, CardFacts, Part, SymbolCard
from quoteboard.feeds.contract import Feed, OffersSymbolFacts
from quoteboard.kabu.errors import KabuClientError
from quoteboard.kabu.protocol import SymbolKey

if TYPE_CHECKING:
    from quoteboard.board.controllers.feed import FeedController

__all__ = ["NOT_REGISTERED", "REFUSED", "CardController"]

#: Seconds the highlight rests on a row before its card is asked for.
SETTLE_SECONDS: Final = 0.25
#: Seconds between two looks at whether a symbol waiting for its registration has it now.
REGISTERED_POLL: Final = 0.5
NOT_REGISTERED: Final = "waiting for the symbol to be registered (GET /symbol would register it)"
REFUSED: Final = "not asked: the station refused to register the symbol"


class CardController:
    """Shows the card of the highlighted symbol (:meth:`show`) and reads what it lacks."""

    def __init__(self, feeds: FeedController, card: SymbolCard) -> None:
        self.feeds = feeds
        self.card = card
        self._key: SymbolKey | None = None
        self._reading: Worker[None] | None = None
        feeds.started.append(lambda: self.show(self._key))  # a new feed: its own station's answers

    def show(self, key: SymbolKey | None) -> None:
        self._key = key
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None
        feed = self.feeds.feed
        if key is None or feed is None:
            self.card.show(None)
            return
        if not isinstance(feed, OffersSymbolFacts):
            why = f"none on {feed.name}: it is read from a Kabu station's (or relay's) REST API"
            self.card.show(CardFacts.unavailable(key, why))
            return
        symbol, primary, regulations = self.feeds.station_facts.peek(feed, key)
        registry = feed.registry
        waiting = REFUSED if key in registry.refused else NOT_REGISTERED
        facts = CardFacts(
            key,
            symbol or (READING if registry.is_registered(key) else waiting),
            primary or READING,
            READING if regulations is None else regulations,
        )
        self.card.show(facts)
        self.card.follow(self.feeds.board.rows.get(key))  # the tick at its price
        if symbol is None or primary is None or regulations is None:
            # The coroutine made when the worker starts: one cancelled before that is never made.
            self._reading = self.feeds.spawn(partial(self._read, feed, feed, facts), "card")

    async def _read(self, feed: Feed, asker: OffersSymbolFacts, facts: CardFacts) -> None:
        """The parts ``facts`` lacks, from ``asker`` (the feed, as the one that answers them)."""
        await asyncio.sleep(SETTLE_SECONDS)
        key, station = facts.key, self.feeds.station_facts
        parts: list[Awaitable[None]] = []
        if facts.primary == READING:
            parts.append(self._part(key, "primary", partial(station.primary_exchange, asker, key.code)))
        if facts.regulations == READING:
            parts.append(self._part(key, "regulations", partial(station.regulations, asker, key)))
        if facts.symbol in (READING, NOT_REGISTERED):
            parts.append(self._symbol(feed, asker, key))
        await asyncio.gather(*parts)

    async def _symbol(self, feed: Feed, asker: OffersSymbolFacts, key: SymbolKey) -> None:
        """``/symbol`` once the station holds ``key``: asked before, it would take a slot."""
        while not feed.registry.holds(key):
            await asyncio.sleep(REGISTERED_POLL)
        self.card.update_part(key, symbol=READING)
        await self._part(key, "symbol", partial(self.feeds.station_facts.symbol, asker, key))

    async def _part(self, key: SymbolKey, name: str, ask: Callable[[], Awaitable[Part]]) -> None:
        """One part of ``key``'s card: its answer, or the failure in words. The call is made here,
        not by the caller: a part cancelled before it runs leaves no coroutine never awaited (whose
        warning would keep the feed alive)."""
        try:
            value: Part = await ask()
        except KabuClientError as exc:
            value = str(exc)
        self.card.update_part(key, **{name: value})
