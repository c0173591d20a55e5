"""The relay's cached GETs: a crowd of clients costs the station one ``/ranking`` per type and market
every 30 s, and one ``/symbol``, ``/primaryexchange`` or ``/regulations`` per symbol and JST day.
Counted at a real test server, through a real relay, by real HTTP clients."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import msgspec
import pytest

from quoteboard.feeds.source import FeedSource
from quoteboard.relay.answers import RelayError
from quoteboard.relay.cache import DAY, AnswerCache
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.relay.support import Kabu

CLIENTS = 20
#: 2025-12-03 10:00 JST, in epoch seconds.
MORNING = 1_764_723_600.0


class CountingStation(TestServer):
    """The test server, counting the paths it is asked for."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.asked: Counter[str] = Counter()

    @property
    def asgi(self) -> Any:
        inner = self.kabu.asgi

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.asked[scope.get("path", "")] += 1
            await inner(scope, receive, send)

        return app


async def everyone(clients: list[Kabu], path: str, **params: str) -> list[bytes]:
    """Every client asks ``path`` at once; their answers (each must be a 200)."""
    answers = await asyncio.gather(*(client.call("GET", path, params=params) for client in clients))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers][:3]
    return [answer.content for answer in answers]


async def test_twenty_clients_cost_the_station_one_ranking_per_type_every_30_seconds():
    now = [MORNING]
    async with (
        CountingStation(seed=1, rate_limit=None, password="pw") as station,
        RelayServer(FeedSource.kabu(station.base_url, "pw"), port=0, say=lambda line: None) as relay,
    ):
        assert relay.relay is not None
        relay.relay.cached.cache.clock = lambda: now[0]
        clients = [Kabu(relay, "pw") for _ in range(CLIENTS)]
        for client in clients:
            await client.__aenter__()
        try:
            asked = station.kabu.rankings.asked
            for type_ in map(str, range(1, 16)):
                answers = await everyone(clients, "/ranking", Type=type_, ExchangeDivision="ALL")
                assert len(set(answers)) == 1 and msgspec.json.decode(answers[0])["Type"] == type_
            assert {key: n for key, n in asked.items()} == {(str(t), "ALL"): 1 for t in range(1, 16)}
            await everyone(clients, "/ranking", Type="1", ExchangeDivision="TP")  # another market: its own
            assert asked["1", "TP"] == 1
            now[0] += 29
            await everyone(clients, "/ranking", Type="1", ExchangeDivision="ALL")
            assert asked["1", "ALL"] == 1
            now[0] += 2  # 31 s on: asked again, once
            await everyone(clients, "/ranking", Type="1", ExchangeDivision="ALL")
            assert asked["1", "ALL"] == 2
            assert station.asked["/kabusapi/ranking"] == 15 + 1 + 1
            # A refusal is the station's own and is never kept.
            for _ in range(2):
                answer = await clients[0].call(
                    "GET", "/ranking", params={"Type": "99", "ExchangeDivision": "ALL"}
                )
                assert answer.status_code == 400 and answer.json()["Code"] == 4001005
            assert station.asked["/kabusapi/ranking"] == 15 + 1 + 1 + 2
        finally:
            for client in clients:
                await client.__aexit__(None, None, None)


async def test_symbol_primaryexchange_and_regulations_are_asked_once_a_jst_day():
    now = [MORNING]
    async with (
        CountingStation(seed=1, rate_limit=None, password="pw") as station,
        RelayServer(FeedSource.kabu(station.base_url, "pw"), port=0, say=lambda line: None) as relay,
    ):
        assert relay.relay is not None
        relay.relay.cached.cache.clock = lambda: now[0]
        async with Kabu(relay, "pw") as first, Kabu(relay, "pw") as second:
            # (/primaryexchange takes a bare code, as the vendor's spec has it)
            paths = ("/symbol/7203@1", "/primaryexchange/7203", "/regulations/7203@1")
            for path in paths:
                answers = await everyone([first, second] * 5, path)
                assert len(set(answers)) == 1
            now[0] += 13 * 3600  # 23:00 JST the same day
            for path in paths:
                await everyone([first, second], path)
            assert [station.asked[f"/kabusapi{path}"] for path in paths] == [1, 1, 1]
            now[0] += 3600  # 00:00 JST: a new day
            for path in paths:
                await everyone([first, second], path)
            assert [station.asked[f"/kabusapi{path}"] for path in paths] == [2, 2, 2]
            bad = await first.call("GET", "/regulations/7203")
            assert bad.status_code == 400 and bad.json()["Code"] == 4001005
            primary = await first.call("GET", "/primaryexchange/7203")
            assert primary.json() == {"Symbol": "7203", "PrimaryExchange": 1}


async def test_an_asker_hanging_up_does_not_cancel_the_others_answer():
    cache = AnswerCache(clock=lambda: MORNING)
    release = asyncio.Event()
    calls = 0

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"answer"

    first = asyncio.create_task(cache.get("k", fetch, 30))
    second = asyncio.create_task(cache.get("k", fetch, 30))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == b"answer" and calls == 1
    assert cache.peek("k") == b"answer"


async def test_an_error_is_given_to_every_asker_and_not_kept():
    cache = AnswerCache(clock=lambda: MORNING)

    async def refused() -> bytes:
        await asyncio.sleep(0)
        raise RelayError(4001005)

    results = await asyncio.gather(*(cache.get("k", refused, DAY) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RelayError) for r in results) and cache.misses == 1
    assert cache.peek("k") is None
    with pytest.raises(RelayError):
        await cache.get("k", refused, DAY)
    assert cache.misses == 2
