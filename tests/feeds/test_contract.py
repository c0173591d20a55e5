"""The feed contract: a feed written here against :class:`~quoteboard.feeds.contract.Feed` alone (no
subclass of a quoteboard feed) runs the board, and the event channel keeps any number of subscribers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.contract import Channel, Feed, FeedEvents, FeedStatus, OffersPositions, Refusals
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.errors import KabuClientError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.registry import Registry
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import wait_for
from tests.test_app import all_quoted

SIZE = (120, 36)


class ScriptedFeed:
    """Quotes made up here for whatever is registered, a price step every 20 ms: no station, no
    socket, no positions."""

    def __init__(self) -> None:
        self.name = "scripted"
        self.events = FeedEvents()
        self.registry = Registry()
        self.status = FeedStatus("idle")
        self.received = self.rejected = self.connections = 0
        self.taken = False
        self.server = None
        self.asked: list[tuple[str, list[str]]] = []  # what the board asked of the feed, in order
        self._closed = asyncio.Event()

    def _quote(self, key: SymbolKey, step: int = 0) -> Quote:
        return Quote(key.code, name=f"scripted {key.code}", exchange=key.exchange, last=1000.0 + step,
                     received_at=time.time())  # fmt: skip

    async def start(self) -> Refusals:
        self.registry.station_lists(self.registry.watched)
        return []

    async def run(self) -> None:
        self.connections += 1
        self.status = FeedStatus("live")
        self.events.status.publish(self.status)
        step = 0
        while not self._closed.is_set():
            step += 1
            for key in self.registry.registered:
                self.received += 1
                self.events.quote.publish(self._quote(key, step))
            await asyncio.sleep(0.02)

    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        keys = list(keys)
        self.asked.append(("register", [str(k) for k in keys]))
        self.registry.watch(keys)
        self.registry.station_lists(self.registry.watched)
        return self.registry.registered

    async def register_each(self, keys: Iterable[SymbolKey]) -> Refusals:
        await self.register(keys)
        return []

    async def unregister(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        keys = list(keys)
        self.asked.append(("unregister", [str(k) for k in keys]))
        self.registry.unwatch(keys)
        self.registry.station_lists(self.registry.watched)
        return self.registry.registered

    async def fetch_boards(
        self, keys: Iterable[SymbolKey], on_quote: Callable[[Quote], object]
    ) -> list[tuple[SymbolKey, KabuClientError]]:
        for key in keys:
            on_quote(self._quote(key))
        return []

    def reconnect(self) -> None:
        pass

    def is_closed(self) -> bool:
        return self._closed.is_set()

    async def close(self) -> None:
        self.status = FeedStatus("closed")
        self._closed.set()


class ScriptedSource(FeedSource):
    """The board's source of :class:`ScriptedFeed` s."""

    async def start(self, max_symbols: int = 50) -> Feed:
        return ScriptedFeed()


def scripted_board(tmp_path: Path, symbols: list[SymbolKey]) -> QuoteboardApp:
    return QuoteboardApp(sources=[ScriptedSource("demo")], symbols=symbols,
                         store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip


def test_the_scripted_feed_is_a_feed_without_positions() -> None:
    feed: Feed = ScriptedFeed()  # mypy checks the protocol here
    assert not isinstance(feed, OffersPositions)


async def test_a_feed_written_against_the_contract_alone_runs_the_board(tmp_path: Path) -> None:
    app = scripted_board(tmp_path, [SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app), what="the rows filled by the scripted feed")
        feed = app.feed
        assert isinstance(feed, ScriptedFeed)
        assert app.board.rows[SymbolKey("7203")].quote.name == "scripted 7203"
        await pilot.press("a", *"6758", "enter")
        await wait_for(pilot, lambda: ("register", ["6758@1"]) in feed.asked, what="a registered")
        await wait_for(pilot, lambda: all_quoted(app) and len(app.board) == 2, what="the new row")
        await pilot.press("d")  # the cursor is on the row just added
        await wait_for(pilot, lambda: ("unregister", ["6758@1"]) in feed.asked, what="d unregistered")
        assert app.table.order == [SymbolKey("7203")]
        assert feed.registry.watched == [SymbolKey("7203")]


async def test_the_positions_view_says_in_words_that_a_feed_has_no_positions(tmp_path: Path) -> None:
    app = scripted_board(tmp_path, [SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("p")
        view = app.positions_view
        await wait_for(pilot, lambda: view.note and "no positions" in view.note, what="the note")
        assert view.note == "this feed has no positions: scripted offers quotes only"
        assert view.loads == 0


def test_a_channel_calls_every_subscriber_in_order_and_forgets_the_unsubscribed() -> None:
    channel: Channel[[int]] = Channel()
    seen: list[tuple[str, int]] = []
    first = channel.subscribe(lambda n: seen.append(("first", n)))
    channel.subscribe(lambda n: seen.append(("second", n)))

    def third(n: int) -> None:
        seen.append(("third", n))
        channel.unsubscribe(third)  # while being called: the publish under way is not disturbed

    channel.subscribe(third)
    channel.publish(1)
    channel.unsubscribe(first)
    channel.publish(2)
    channel.unsubscribe(first)  # not there any more: nothing happens
    assert seen == [("first", 1), ("second", 1), ("third", 1), ("second", 2)]
    assert len(channel.subscribers) == 1
