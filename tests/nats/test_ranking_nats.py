"""Rankings on NATS: ``kabu.ctl.ranking`` answers what ``GET /ranking`` of the relay's station answers,
from the same 30 s cache as the relay's HTTP clients; a board on NATS shows the movers through it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.contract import OffersRanking
from quoteboard.feeds.nats import NatsFeed
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import wait_for
from tests.nats.support import NatsServer

PASSWORD = "station-secret-pw"


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as srv:
        yield srv


@pytest_asyncio.fixture
async def relay(station: TestServer, nats_server: NatsServer) -> AsyncIterator[RelayServer]:
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(
        source, port=0, say=lambda line: None, nats=NatsTarget.parse(nats_server.url)
    ) as srv:
        yield srv


async def test_nats_and_http_clients_share_one_ranking_call(station, relay, nats_server) -> None:
    feeds = [NatsFeed(NatsTarget.parse(nats_server.url), client_id=f"movers-{n}") for n in range(5)]
    try:
        assert all(isinstance(feed, OffersRanking) for feed in feeds)
        rankings = await asyncio.gather(*(feed.ranking(3, "TP") for feed in feeds))
        async with KabuRest(relay.base_url, PASSWORD) as rest:
            over_http = await rest.ranking(3, "TP")
        assert all(r == over_http for r in rankings) and over_http.movers
        assert station.kabu.rankings.asked["3", "TP"] == 1
        with pytest.raises(KabuError) as refused:
            await feeds[0].ranking(16, "TP")
        assert refused.value.code == 4001005
    finally:
        for feed in feeds:
            await feed.close()


async def test_the_board_on_nats_shows_the_movers(station, relay, nats_server, tmp_path: Path) -> None:
    nats = FeedSource.of_nats(NatsTarget.parse(nats_server.url))
    app = QuoteboardApp(sources=[nats], symbols=[SymbolKey("7203", 1)],
                        store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.feed is not None and app.feed.status.state == "live", 15, "live")
        await pilot.press("m")
        book = app.widgets.movers.book
        await wait_for(pilot, lambda: book.shown is not None and book.shown.ranking.movers, 15, "movers")
        await pilot.pause()
        top = book.shown.ranking.movers[0]
        assert app.widgets.movers.table.row_count == len(book.shown.ranking.movers)
        assert top.key is not None and top.key.code in app.widgets.movers.table.render_line(1).text
        assert station.kabu.rankings.asked["1", "ALL"] == 1
