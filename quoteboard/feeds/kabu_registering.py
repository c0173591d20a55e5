"""A Kabu feed's registrations: the watched symbols registered at the station and kept so.

:class:`RegisteringFeed` is the half of :class:`~quoteboard.feeds.kabu.KabuFeed` that speaks REST
about symbols: PUT /register within the cap, /unregister, GET /board for prices the socket will not
push, and, while the socket is up, registering again what the station lost (a restart, the logout)
or what it could not take when it did not answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from quoteboard.feeds.base import BaseFeed
from quoteboard.feeds.closing import logged_out
from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.policy import backoff_delay
from quoteboard.kabu.errors import NOT_REGISTERED_CODE, KabuClientError, KabuError, NotAsked
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.kabu.rest import KabuRest

__all__ = ["RegisteringFeed"]


class RegisteringFeed(BaseFeed):
    """Registers the watched symbols at a Kabu station through :attr:`rest`, and keeps them registered."""

    #: The station's REST client (:class:`~quoteboard.feeds.kabu.KabuFeed` makes it).
    rest: KabuRest

    def __init__(self, name: str, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> None:
        super().__init__(name, max_symbols)
        #: Back from a logout: the registrations made again are told to ``events.registered``.
        self._announce = False
        self._announce_keys: list[SymbolKey] = []
        #: Why the watched symbols are not all registered while live ("" when they are).
        self._register_problem = ""
        #: A new token since the watched symbols were registered: register them all at the next open.
        self._register_all = False
        self._rng = random.Random()
        #: Set when a registration found the station unreachable: retried while the socket is up.
        self._unregistered = asyncio.Event()
        #: ``GET /symbol`` calls on the way, by symbol: an unregistration waits for them (below).
        self._symbol_calls: dict[SymbolKey, asyncio.Future[None]] = {}

    async def _register(self, keys: list[SymbolKey]) -> list[SymbolKey]:
        """PUT /register within the cap; the station's answer goes to the registry."""
        self.registry.check_room(keys)
        registered = await self.rest.register(keys)
        self.registry.station_lists(registered)
        return registered

    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Register ``keys`` at the station and keep them registered across reconnects.

        If the station cannot be reached or fails (a transient error), the error is raised (to be
        shown) but the keys are watched all the same, and :meth:`run` registers them once the
        station answers. A refusal (no such symbol, the limit...) watches nothing.
        """
        keys = list(keys)
        try:
            registered = await self._register(keys)
        except KabuClientError as exc:
            if exc.transient:
                self.registry.watch(keys)
                self._retry_later()
            raise
        self.registry.watch(keys)
        return registered

    async def unregister(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Stop watching ``keys`` and unregister them at the station. Returns what is still registered.

        A station that had none of them registered (4001020: it restarted, or was logged out, since)
        is already where the caller wants it: that is not an error.
        """
        keys = list(keys)
        registry = self.registry
        registry.unwatch(keys)
        # A GET /symbol on the way registers its symbol when it lands: sent before this PUT, it
        # must land before it too, or the symbol stays registered with nobody wanting it.
        calls = [call for key in keys if (call := self._symbol_calls.get(key)) is not None]
        if calls:
            await asyncio.wait(calls)
        try:
            registry.station_lists(await self.rest.unregister(keys))
        except KabuError as exc:
            if exc.code != NOT_REGISTERED_CODE:
                raise
            registry.station_dropped(keys)
        return registry.registered

    async def fetch_boards(
        self, keys: Iterable[SymbolKey], on_quote: Callable[[Quote], object], per_second: float = 8.0
    ) -> list[tuple[SymbolKey, KabuClientError]]:
        """GET /board for each key, paced under Kabu's ~10 requests/s, handing each to ``on_quote``.

        Kabu pushes nothing after the close or over lunch, so this is how a board opened in the
        evening shows prices. Returns the keys that failed with their errors (nothing is raised).
        """
        failures: list[tuple[SymbolKey, KabuClientError]] = []
        for i, key in enumerate(keys):
            if i:
                await asyncio.sleep(1.0 / per_second)
            try:
                quote = await self.rest.board(key)
            except KabuClientError as exc:
                failures.append((key, exc))
                continue
            self.registry.station_added(key)  # GET /board registers its symbol, at Kabu too
            quote.received_at = time.time()
            on_quote(quote)
        return failures

    async def symbol(self, key: SymbolKey) -> dict[str, Any]:
        """GET /symbol for ``key``: its static facts and the day's price limits.

        The station registers the symbol as a side effect, as for /board, so it is asked only for a
        symbol watched and registered (else :class:`NotAsked`), and an unregistration of it waits
        for the answer.
        """
        if not self.registry.holds(key):
            raise NotAsked(f"{key} is not registered, and GET /symbol would register it")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._symbol_calls[key] = done
        try:
            answer = await self.rest.symbol(key)
        finally:
            done.set_result(None)
            if self._symbol_calls.get(key) is done:
                del self._symbol_calls[key]
        self.registry.station_added(key)
        return answer

    def _retry_later(self) -> None:
        self.registry.station_failed()
        self._unregistered.set()

    async def _ensure_registered(self) -> KabuError | None:
        """After a (re)connect, register again whatever the station may have lost. Returns the
        refusal of a station logged out or refusing the password (the socket is no use then); any
        other failure is said in the live status's detail and retried while the socket is up."""
        registry = self.registry
        self._register_problem = ""
        if not registry.watched:
            return None
        if self.connections == 1 and not registry.missing() and not self._register_all:
            return None  # registered just before this first connection
        self._register_all = False
        announce, self._announce = self._announce, False
        try:
            await self._register_watch()
            if announce:  # back from a logout: told (once live) like a late registration
                self._announce_keys = registry.watched
        except KabuClientError as exc:
            if logged_out(exc):
                self._register_all = True
                return cast("KabuError", exc)
            # "live" all the same: the socket streams what the station has registered.
            self._register_problem = f"re-registering {len(registry.watched)} symbols failed: {exc}"
            if exc.transient:
                self._retry_later()
        return None

    async def _keep_registered(self) -> None:
        """While the socket is up, register (with back-off) the watched symbols a REST call could not
        register because the station did not answer or failed: the socket streams only registered
        symbols. (A station that logs out closes the socket: :meth:`run` finds it logged out then.)"""
        registry = self.registry
        attempt = 0
        while True:
            await self._unregistered.wait()
            attempt += 1
            await asyncio.sleep(backoff_delay(attempt, self._rng))
            missing = registry.missing()
            try:
                if missing:
                    await self._register(missing)
            except KabuClientError as exc:
                if exc.transient:
                    continue
                # refused, not unreachable: asking again would not help
                self._register_problem = f"registering {len(missing)} symbols failed: {exc}"
                self._report(FeedStatus("live", self._register_problem))
            else:
                if self._register_problem and self.status.state == "live":
                    self._register_problem = ""
                    self._report(FeedStatus("live"))
                if missing:
                    self.events.registered.publish(missing)
            self._unregistered.clear()
            registry.retry_due = False
            attempt = 0
