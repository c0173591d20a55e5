"""The station's states, each change driven through the real test server on loopback: a logout and
a restart ridden through, a wrong password, and the relay's clients through a station logout."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

import httpx

from quoteboard.commands.follow import follow
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.feeds.policy import ReconnectPolicy
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.relay.support import Kabu, frames_of
from tests.reliability.support import FeedLog, free_port, wait_until

FAST = 0.05  # the cadence while away, for tests (2 s in use)


def fast_feed(base_url: str, password: str = "pw", **kwargs: object) -> KabuFeed:
    feed = KabuFeed(base_url, password, policy=ReconnectPolicy(fast_cadence=FAST), **kwargs)  # type: ignore[arg-type]
    feed.registry.replace_watch([SymbolKey("7203")])
    return feed


async def test_a_station_logout_is_logged_out_then_live_with_quotes_after_the_login():
    async with TestServer(seed=1, rate_limit=None, rate=50) as server:
        feed = fast_feed(server.base_url)
        await feed.start()
        log = FeedLog(feed).start()
        try:
            await wait_until(lambda: log.quotes_on(1) >= 1, what="quotes")
            await server.log_out()
            await wait_until(lambda: feed.status.state == "logged_out", what="logged_out")
            assert "4001007" in feed.status.detail and server.registered == []
            tries = len(log.statuses)
            await wait_until(lambda: len(log.statuses) >= tries + 3, what="asked again quietly")
            assert {s.state for s in log.statuses[tries - 1 :]} == {"logged_out"}  # no "connecting" between
            server.log_in()
            await wait_until(lambda: feed.status.state == "live", what="live again")
            after = feed.connections
            await wait_until(lambda: log.quotes_on(after) >= 1, what="quotes after the login")
            assert server.registered == ["7203@1"]
        finally:
            await log.stop()
    states = log.states()
    assert states[:2] == ["connecting", "live"] and feed.status.state == "closed"
    assert states.index("logged_out") < len(states) - 1 - states[::-1].index("live")


async def test_a_station_restart_is_unreachable_then_live_with_quotes():
    port = free_port()
    async with TestServer(port=port, seed=1, rate_limit=None, rate=50) as server:
        feed = fast_feed(server.base_url)
        await feed.start()
        log = FeedLog(feed).start()
        await wait_until(lambda: log.quotes_on(1) >= 1, what="quotes")
    try:
        await wait_until(lambda: feed.status.state == "unreachable", what="unreachable")
        assert feed.status.delay == FAST
        async with TestServer(port=port, seed=1, rate_limit=None, rate=50) as again:
            await wait_until(lambda: feed.status.state == "live", what="live again")
            await wait_until(lambda: log.quotes_on(feed.connections) >= 1, what="quotes after the restart")
            assert again.registered == ["7203@1"]  # the restarted station knew none: registered again
    finally:
        await log.stop()
    assert "reconnecting" in log.states()  # the drop itself, before nothing listened


async def test_a_wrong_password_is_wrong_password_and_no_socket_is_opened():
    async with TestServer(seed=1, rate_limit=None, password="pw") as server:
        feed = fast_feed(server.base_url, "wrong")
        log = FeedLog(feed).start()
        try:
            await wait_until(lambda: feed.status.state == "wrong_password", what="wrong_password")
            assert "4001013" in feed.status.detail and feed.connections == 0
        finally:
            await log.stop()
    assert feed.status.state == "closed"


async def test_through_a_relay_a_logout_keeps_client_sockets_open_and_quotes_come_back():
    source = FeedSource.kabu
    async with (
        TestServer(seed=5, rate_limit=None, rate=50, password="pw") as station,
        RelayServer(source(station.base_url, "pw"), port=0, say=(said := []).append) as relay,
    ):
        assert relay.feed is not None
        relay.feed.policy.fast_cadence = FAST
        away: list[str] = []  # the relay's feed reports logged_out at each quiet try
        relay.feed.events.status.subscribe(
            lambda s: away.append(s.state) if s.state == "logged_out" else None
        )
        behind = KabuFeed(relay.base_url, "pw", relay_poll=0.05)
        behind.registry.replace_watch([SymbolKey("9433")])
        await behind.start()
        log = FeedLog(behind).start()
        try:
            async with Kabu(relay, "pw") as client:
                await client.register("7203")
                async with client.push() as ws:
                    await frames_of(ws, 1)
                    await wait_until(lambda: log.quotes_on(1) >= 1, what="quotes behind the relay")
                    await station.log_out()
                    async with httpx.AsyncClient() as http:
                        status = (await http.get(relay.status_url)).json()["station"]
                        for _ in range(100):
                            if status["state"] == "logged_out":
                                break
                            await asyncio.sleep(0.05)
                            status = (await http.get(relay.status_url)).json()["station"]
                    assert status["state"] == "logged_out" and "4001007" in status["detail"]
                    assert "\n" not in status["detail"]
                    assert datetime.fromisoformat(status["since"]).utcoffset().total_seconds() == 9 * 3600
                    # The board behind the relay says the relay's station state, not its socket's.
                    await wait_until(lambda: behind.status.state == "logged_out", what="logged_out behind")
                    assert behind.status.detail.startswith("at the relay")
                    await wait_until(lambda: len(away) >= 3, what="the station asked again")
                    # Asked again and again, the same state is one line of the relay's, not one a try.
                    assert sum(line.startswith("station logged_out") for line in said) == 1, said
                    station.log_in()
                    frames = await frames_of(ws, 1, timeout=10)  # the same socket, no call of ours
                    assert frames[0]["Symbol"] == "7203"
                    assert sorted(station.registered) == ["7203@1", "9433@1"]
                    await wait_until(lambda: behind.status.state == "live", what="live behind")
                    assert behind.connections == 1  # its socket stayed open throughout
        finally:
            await log.stop()


async def test_streams_lines_say_a_long_logout_once_not_at_each_try():
    async with TestServer(seed=1, rate_limit=None, rate=50) as server:
        feed = fast_feed(server.base_url)
        await feed.start()
        tries: list[str] = []
        feed.events.status.subscribe(lambda s: tries.append(s.state) if s.state == "logged_out" else None)
        err, done = io.StringIO(), asyncio.Event()
        following = asyncio.create_task(follow(feed, done, None, err))
        try:
            await wait_until(lambda: feed.status.state == "live", what="live")
            await server.log_out()
            await wait_until(lambda: len(tries) >= 4, what="the station asked again")
            server.log_in()
            await wait_until(lambda: feed.status.state == "live", what="live again")
        finally:
            done.set()
            await following
            await feed.close()
    lines = err.getvalue().splitlines()
    assert sum("feed logged_out" in line for line in lines) == 1, lines
    assert lines[-1].endswith("feed live"), lines
