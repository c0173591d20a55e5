"""Positions on NATS: a board whose feed is a relay's on a real nats-server shows the positions the
relay's station holds (``kabu.ctl.positions``), with P&L that follows the prices pushed over NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.contract import OffersPositions
from quoteboard.feeds.nats import NatsFeed
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import wait_for
from tests.nats.support import NatsServer
from tests.test_positions_view import HELD, all_priced, check_pnl_by_hand, shown_rows

PASSWORD = "station-secret-pw"


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD, portfolio=DEMO_PORTFOLIO) as srv:
        yield srv


@pytest_asyncio.fixture
async def relay(station: TestServer, nats_server: NatsServer) -> AsyncIterator[RelayServer]:
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(
        source, port=0, say=lambda line: None, nats=NatsTarget.parse(nats_server.url)
    ) as srv:
        yield srv


async def test_a_nats_feed_reads_the_relays_positions(station, relay, nats_server) -> None:
    feed = NatsFeed(NatsTarget.parse(nats_server.url), client_id="positions-reader")
    try:
        assert isinstance(feed, OffersPositions)
        positions = await feed.positions()
        assert sorted(p.code for p in positions) == sorted(HELD)
        station.kabu.portfolio = ()
        assert await feed.positions() == []
    finally:
        await feed.close()


async def test_the_board_on_nats_shows_the_positions_with_live_pnl(
    station, relay, nats_server, tmp_path: Path
):
    nats = FeedSource.of_nats(NatsTarget.parse(nats_server.url))
    app = QuoteboardApp(sources=[nats], symbols=[SymbolKey("7203", 1)],
                        store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: all_priced(app), 15, "every position priced over NATS")
        first = shown_rows(app)
        check_pnl_by_hand(first)
        await wait_for(
            pilot,
            lambda: (
                {c: cells[4] for c, cells in shown_rows(app).items()}
                != {c: cells[4] for c, cells in first.items()}
            ),
            15,
            "a position's price to move",
        )
        check_pnl_by_hand(shown_rows(app))
        assert app.positions_view.loads >= 1
