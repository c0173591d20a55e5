"""The feed end to end: the real client against the in-process test server over real sockets."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import Callable

import httpx
import pytest
from websockets.asyncio.server import serve

from quoteboard.board.model import Board
from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.kabu import KabuFeed, backoff_delay
from quoteboard.feeds.policy import ReconnectPolicy
from quoteboard.kabu.errors import NotAsked
from quoteboard.kabu.protocol import Quote, Rejection, SymbolKey


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


class Recorder:
    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.rejections: list[Rejection] = []
        self.statuses: list[FeedStatus] = []

    def run(self, feed: KabuFeed) -> asyncio.Task:
        feed.events.quote.subscribe(self.quotes.append)
        feed.events.reject.subscribe(self.rejections.append)
        feed.events.status.subscribe(self.statuses.append)
        return asyncio.create_task(feed.run())

    def states(self) -> list[str]:
        return [s.state for s in self.statuses]


async def stop(task: asyncio.Task, feed: KabuFeed) -> None:
    await feed.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_register_then_quotes_arrive_with_bid_below_ask(server):
    feed = KabuFeed(server.base_url, "pw", name="demo")
    rec = Recorder()
    await feed.register([SymbolKey("7203"), SymbolKey("9433")])
    assert {"7203@1", "9433@1"} <= set(server.registered)
    task = rec.run(feed)
    try:
        await wait_for(lambda: {q.key for q in rec.quotes} >= {SymbolKey("7203"), SymbolKey("9433")})
    finally:
        await stop(task, feed)
    assert rec.states()[:2] == ["connecting", "live"]
    assert all(q.bid < q.ask for q in rec.quotes if q.bid is not None and q.ask is not None)
    assert {q.name for q in rec.quotes} >= {"トヨタ自動車", "ＫＤＤＩ"}
    assert all(q.received_at > 0 for q in rec.quotes)
    assert feed.connections == 1 and not rec.rejections


async def test_socket_dropped_reconnects_and_quotes_resume(server):
    feed = KabuFeed(server.base_url, "pw")
    rec = Recorder()
    await feed.register([SymbolKey("7203")])
    task = rec.run(feed)
    try:
        await wait_for(lambda: len(rec.quotes) >= 2)
        await server.drop_sockets()
        await wait_for(lambda: "reconnecting" in rec.states())
        before = len(rec.quotes)
        await wait_for(lambda: len(rec.quotes) > before + 1)
    finally:
        await stop(task, feed)
    reconnecting = next(s for s in rec.statuses if s.state == "reconnecting")
    assert reconnecting.attempt == 1 and 0 < reconnecting.delay <= 0.5
    assert feed.connections == 2


async def test_after_a_reconnect_lost_registrations_come_back(server):
    """Another client takes a new token (voiding ours) and clears the registrations; the station
    then drops our socket. The feed must get a new token and register its symbols again."""
    feed = KabuFeed(server.base_url, "pw")
    rec = Recorder()
    await feed.register([SymbolKey("6758")])
    task = rec.run(feed)
    try:
        await wait_for(lambda: len(rec.quotes) >= 1)
        async with httpx.AsyncClient(base_url=server.base_url) as other:
            token = (await other.post("/token", json={"APIPassword": "pw"})).json()["Token"]
            answer = await other.put("/unregister/all", headers={"X-API-KEY": token})
            assert answer.status_code == 200
        assert "6758@1" not in server.registered
        await server.drop_sockets()
        await wait_for(lambda: "6758@1" in server.registered)
        before = len(rec.quotes)
        await wait_for(lambda: len(rec.quotes) > before)
    finally:
        await stop(task, feed)
    assert rec.quotes[-1].key == SymbolKey("6758")


async def test_one_socket_stays_up_without_churn(server):
    feed = KabuFeed(server.base_url, "pw")
    rec = Recorder()
    await feed.register([SymbolKey("7203")])
    task = rec.run(feed)
    try:
        await asyncio.sleep(2.5)
    finally:
        await stop(task, feed)
    assert feed.connections == 1 and "reconnecting" not in rec.states()
    assert len(rec.quotes) >= 3


async def test_fetch_boards_fills_a_board_without_push(server):
    feed = KabuFeed(server.base_url, "pw")
    board = Board([SymbolKey("7203"), SymbolKey("9433")])
    failures = await feed.fetch_boards([SymbolKey("7203"), SymbolKey("9433"), SymbolKey("0001")], board.apply)
    await feed.close()
    assert (
        board.rows[SymbolKey("7203")].quote.last > 0
        and board.rows[SymbolKey("9433")].quote.name == "ＫＤＤＩ"
    )
    assert [(key, err.code) for key, err in failures] == [(SymbolKey("0001"), 4002001)]


async def test_unregister_stops_watching(server):
    feed = KabuFeed(server.base_url, "pw")
    await feed.register([SymbolKey("7203"), SymbolKey("9433")])
    remaining = await feed.unregister([SymbolKey("7203")])
    await feed.close()
    assert SymbolKey("7203") not in remaining and feed.registry.watched == [SymbolKey("9433")]
    assert "7203@1" not in server.registered


async def test_unregistering_what_the_station_already_lost_is_not_an_error(server):
    """The station restarted (or logged out) since we registered: it answers 4001020 to the
    unregister, which leaves it exactly where the user wanted it."""
    feed = KabuFeed(server.base_url, "pw")
    await feed.register([SymbolKey("7203"), SymbolKey("9433")])
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        token = (await other.post("/token", json={"APIPassword": "pw"})).json()["Token"]
        await other.put("/unregister", headers={"X-API-KEY": token},
                        json={"Symbols": [{"Symbol": "7203", "Exchange": 1}]})  # fmt: skip
        lost = await other.put("/unregister", headers={"X-API-KEY": token},
                               json={"Symbols": [{"Symbol": "7203", "Exchange": 1}]})  # fmt: skip
    assert lost.json()["Code"] == 4001020  # what the feed meets next
    remaining = await feed.unregister([SymbolKey("7203")])
    await feed.close()
    assert remaining == [SymbolKey("9433")] == feed.registry.watched
    assert server.registered == ["9433@1"]


async def test_symbol_is_asked_only_for_what_is_registered_and_lands_before_an_unregister(
    server, monkeypatch: pytest.MonkeyPatch
):
    """GET /symbol registers its symbol at the station (as at Kabu): one on the way when the symbol
    is unregistered must land first, or the station keeps a symbol nobody wants; one not
    registered is not asked at all."""
    feed = KabuFeed(server.base_url, "pw")
    toyota, kddi = SymbolKey("7203"), SymbolKey("9433")
    await feed.register([toyota])
    real, sent = feed.rest.symbol, asyncio.Event()

    async def slow_symbol(key: SymbolKey) -> dict:
        sent.set()
        await asyncio.sleep(0.3)  # a station slow to answer: the unregister comes meanwhile
        return await real(key)

    monkeypatch.setattr(feed.rest, "symbol", slow_symbol)
    asking = asyncio.create_task(feed.symbol(toyota))
    await sent.wait()
    await feed.unregister([toyota])
    assert (await asking)["Symbol"] == "7203"
    assert "7203@1" not in server.registered
    for key in (toyota, kddi):  # unwatched now; never watched
        with pytest.raises(NotAsked, match="not registered"):
            await feed.symbol(key)
    await feed.close()
    assert server.registered == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_station_reports_unreachable_at_the_fast_cadence():
    """Nothing listens: "unreachable" (not the back-off of a dropped socket), tried again every
    ``fast_cadence`` seconds, each try said as the same state entered once."""
    policy = ReconnectPolicy(fast_cadence=0.05)
    feed = KabuFeed(f"http://127.0.0.1:{free_port()}/kabusapi", policy=policy)
    rec = Recorder()
    task = rec.run(feed)
    try:
        await wait_for(lambda: sum(s.state == "unreachable" for s in rec.statuses) >= 3, timeout=10)
    finally:
        await stop(task, feed)
    retries = [s for s in rec.statuses if s.state == "unreachable"]
    assert "connection refused" in retries[0].detail
    assert {s.delay for s in retries} == {0.05}
    assert "reconnecting" not in rec.states()


async def test_an_unseen_station_sending_garbage_is_counted_and_skipped():
    """A bare websockets server on Kabu's path: garbage frames are skipped, good ones decoded."""
    good = {"Symbol": "7203", "Exchange": 1, "CurrentPrice": 2500, "BidPrice": 2501, "AskPrice": 2500}

    async def station(ws):
        for frame in ["not json", b"\x00\xff", json.dumps({"Symbol": 1}), json.dumps(good), "[]"]:
            await ws.send(frame)
        await ws.wait_closed()

    port = free_port()
    async with serve(station, "127.0.0.1", port):
        feed = KabuFeed(f"http://127.0.0.1:{port}/kabusapi")
        rec = Recorder()
        task = rec.run(feed)
        try:
            await wait_for(lambda: len(rec.rejections) == 4 and len(rec.quotes) == 1)
        finally:
            await stop(task, feed)
    assert feed.rejected == 4 and feed.received == 1
    assert (rec.quotes[0].bid, rec.quotes[0].ask) == (2500.0, 2501.0)


def test_backoff_starts_under_half_a_second_and_caps_at_30():
    rng = random.Random(7)
    assert all(0.25 <= backoff_delay(1, rng) <= 0.5 for _ in range(100))
    delays = [backoff_delay(n, rng) for n in range(1, 20)]
    assert max(delays) <= 30.0 and delays[-1] >= 15.0
    assert backoff_delay(3, random.Random(1)) > backoff_delay(1, random.Random(1))


@pytest.mark.parametrize("state", ["connecting", "live", "logged_out"])
def test_status_describes_itself(state):
    assert FeedStatus(state, "x").describe() == f"{state}: x"
    assert FeedStatus("reconnecting", attempt=3, delay=2.0).describe() == "reconnecting in 2.0 s, attempt 3"


async def test_a_symbol_the_station_refuses_is_left_out_and_the_rest_registered(server):
    """Kabu refuses a whole PUT /register for one unknown code; the feed then registers the codes
    one by one, watches the ones the station knows and says which it refused."""
    feed = KabuFeed(server.base_url, "pw")
    told: list[list[tuple[SymbolKey, object]]] = []
    feed.events.refused.subscribe(told.append)
    feed.registry.replace_watch([SymbolKey("7203"), SymbolKey("1111"), SymbolKey("9433")])
    try:
        refused = await feed.start()
    finally:
        await feed.close()
    assert [(str(key), exc.code) for key, exc in refused] == [("1111@1", 4002001)]
    assert told == [refused] and "no such symbol" in str(refused[0][1])
    assert server.registered == ["7203@1", "9433@1"] == [str(key) for key in feed.registry.watched]


async def test_registering_on_connect_leaves_a_refused_symbol_out_and_streams_the_rest(server):
    """The registration a (re)connect makes (also the first one, when start() could not reach the
    station) leaves a refused code out the same way, and the feed stays live."""
    feed = KabuFeed(server.base_url, "pw")
    told: list[list[tuple[SymbolKey, object]]] = []
    feed.events.refused.subscribe(told.append)
    feed.registry.replace_watch([SymbolKey("1111"), SymbolKey("7203")])
    rec = Recorder()
    task = rec.run(feed)
    try:
        await wait_for(lambda: len(rec.quotes) >= 2)
    finally:
        await stop(task, feed)
    assert [str(key) for key, _ in told[0]] == ["1111@1"] and server.registered == ["7203@1"]
    assert {q.key for q in rec.quotes} == {SymbolKey("7203")} and set(rec.states()) <= {"connecting", "live"}
