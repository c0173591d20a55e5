"""The symbol card on NATS: a board on a relay's NATS subjects has no station REST to ask, and its
card says so instead of failing."""

from __future__ import annotations

from pathlib import Path

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import screen_text, wait_for
from tests.nats.test_positions_nats import relay, station

__all__ = ["relay", "station"]  # the fixtures, shared with the positions' NATS tests


async def test_the_card_on_nats_says_it_is_not_available(station, relay, nats_server, tmp_path: Path):
    nats = FeedSource.of_nats(NatsTarget.parse(nats_server.url))
    app = QuoteboardApp(sources=[nats], symbols=[SymbolKey("7203", 1)],
                        store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.panel.card.facts is not None, 15, "the card")
        await wait_for(pilot, lambda: app.board.rows[SymbolKey("7203")].quote is not None, 15, "a quote")
        text = app.panel.card.text
        assert text.startswith("card none on nats")
        assert text.endswith("it is read from a Kabu station's (or relay's) REST API")
        assert text.count("none on nats") == 1  # said once, not for each part
        assert "card    none on nats" in screen_text(app)
