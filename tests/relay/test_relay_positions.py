"""``GET /positions`` through a relay: forwarded to the station as it is (read only)."""

from __future__ import annotations

from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.portfolio import Holding


async def test_positions_pass_through_the_relay_to_the_station():
    holdings = (Holding("7203", "long", 300, 2750.0), Holding("9984", "short", 100, 9620.0))
    async with (
        TestServer(seed=5, rate_limit=None, password="pw", portfolio=holdings) as station,
        RelayServer(FeedSource.kabu(station.base_url, "pw"), port=0, say=lambda line: None) as relay,
        KabuRest(relay.base_url, "pw") as rest,
    ):
        got = await rest.positions()
    assert [(p.key, p.long, p.qty, p.price) for p in got] == [
        (SymbolKey("7203"), True, 300, 2750),
        (SymbolKey("9984"), False, 100, 9620),
    ]
