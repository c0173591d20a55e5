"""What the Kabu and NATS feeds share: their events, status, counters, and registering the watched
symbols one by one when the station refuses a batch for one of them.

A feed need not derive from :class:`BaseFeed`: the contract is :class:`~quoteboard.feeds.contract.Feed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from quoteboard.feeds.contract import FeedEvents, FeedStatus, Refusals
from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS, Registry

if TYPE_CHECKING:
    from quoteboard.kabu.protocol import SymbolKey
    from quoteboard.server import TestServer

__all__ = ["BaseFeed"]


class BaseFeed(ABC):
    """The parts of a feed that do not depend on how it reaches the station."""

    #: Seconds between the one-by-one registrations after a refused batch (Kabu's ~10 calls/s).
    register_pace = 1.0 / 8

    def __init__(self, name: str, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> None:
        self.name = name
        self.events = FeedEvents()
        self.registry = Registry(limit=max_symbols)
        self.status = FeedStatus("idle")
        self.connections = 0
        self.received = 0
        self.rejected = 0
        self.taken = False
        self.server: TestServer | None = None

    @abstractmethod
    async def _register(self, keys: list[SymbolKey]) -> list[SymbolKey]:
        """Register ``keys`` at the station (within the cap); the answer goes to the registry."""

    @abstractmethod
    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]: ...

    async def _refused_one(self, key: SymbolKey) -> None:  # noqa: B027 (most feeds need nothing here)
        """The station refused ``key`` while the watched symbols were registered one by one."""

    def is_closed(self) -> bool:
        """:meth:`close` was called: :meth:`run` ends rather than reconnect (a method: it changes
        while run() awaits)."""
        return self.status.state == "closed"

    def _report(self, status: FeedStatus) -> None:
        if status.state == self.status.state:  # the same state, told again: since it entered it
            status = dataclasses.replace(status, since=self.status.since)
        self.status = status
        self.events.status.publish(status)

    async def _register_watch(self) -> Refusals:
        """Register every watched symbol. Kabu refuses a whole PUT for one bad symbol, so when it
        does, each symbol is registered on its own (paced under the rate limit); those refused stop
        being watched, are told to ``events.refused`` and returned. Other errors are raised."""
        keys = self.registry.watched
        if not keys:
            return []
        try:
            await self._register(keys)
            return []
        except KabuError as exc:
            if not exc.refuses_symbols:
                raise
        refused = await self._one_by_one(keys, self._register)
        if refused:
            self.events.refused.publish(refused)
        return refused

    async def register_each(self, keys: Iterable[SymbolKey]) -> Refusals:
        """:meth:`register` ``keys``; if the station refuses the batch for one symbol, each on its
        own, paced. Returns the symbols refused (watched no more); other errors are raised."""
        keys = list(keys)
        try:
            await self.register(keys)
            return []
        except KabuError as exc:
            if not exc.refuses_symbols:
                raise
        return await self._one_by_one(keys, self.register)

    async def _one_by_one(
        self, keys: list[SymbolKey], register: Callable[[list[SymbolKey]], Awaitable[object]]
    ) -> Refusals:
        refused: Refusals = []
        for i, key in enumerate(keys):
            if i and self.register_pace:
                await asyncio.sleep(self.register_pace)
            try:
                await register([key])
            except KabuError as exc:
                if not exc.refuses_symbols:
                    raise
                refused.append((key, exc))
                self.registry.station_refused(key, exc)
                await self._refused_one(key)
        return refused
