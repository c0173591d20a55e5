"""The PUSH socket under faults: dropped again and again, a station that is not there yet, a station
that never answers a ping, and a second socket that takes ours away. Real test server, real sockets,
the real KabuFeed and the real board (Pilot)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quoteboard.feeds.kabu import KabuFeed
from quoteboard.feeds.policy import ReconnectPolicy
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from tests.app_support import make_app, wait_for
from tests.reliability.support import FeedLog, free_port, record_status_texts, scripted_station, wait_until

SIZE = (160, 48)
WATCH = [SymbolKey("7203"), SymbolKey("9433")]
#: Quotes must come back this soon after each drop.
RESUME_WITHIN = 3.0


# -- dropped mid-stream --------------------------------------------------------------------------


async def test_five_drops_in_a_row_each_resume_within_3_s_with_the_registrations_intact(server):
    feed = KabuFeed(server.base_url, "pw")
    await feed.register(WATCH)
    log = FeedLog(feed).start()
    try:
        await wait_until(lambda: log.quotes_on(1) >= 1, what="the first quote")
        for drop in range(1, 6):
            seen = len(log.statuses)
            await server.drop_sockets()
            # A quote on the next socket: frames already in flight on the old one don't count.
            resumed = lambda n=drop + 1: log.quotes_on(n) >= 1  # noqa: E731
            await wait_until(resumed, RESUME_WITHIN, f"quotes after drop {drop}")
            states = [s.state for s in log.statuses[seen:]]
            assert states[:3] == ["reconnecting", "connecting", "live"], states
            assert "station going away" in log.statuses[seen].detail
    finally:
        await log.stop()
    assert feed.connections == 6
    assert server.registered == ["7203@1", "9433@1"] and feed.registry.watched == WATCH
    assert not log.rejections


async def test_the_board_rides_out_five_drops_saying_reconnecting_each_time(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=WATCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.feed is not None and app.feed.received > 0, what="pushed quotes")
        server, feed = app.server, app.feed
        texts = record_status_texts(app.status_bar)
        for drop in range(1, 6):
            texts.clear()
            pushed = feed.received
            await server.drop_sockets()
            back = lambda n=drop + 1, p=pushed: feed.connections == n and feed.received > p + 1  # noqa: E731
            await wait_for(pilot, back, RESUME_WITHIN, f"quotes after drop {drop}")
            assert any("reconnecting in" in text and "station going away" in text for text in texts), texts
        await wait_for(pilot, lambda: "live" in app.status_bar.text)
        assert app.table.order == [SymbolKey("7203"), SymbolKey("9433")]
        assert server.registered == ["7203@1", "9433@1"]
        assert app.board.rejected == 0


# -- no station at start -------------------------------------------------------------------------


async def test_a_station_that_appears_later_is_connected_to_and_given_the_watchlist():
    port = free_port()
    feed = KabuFeed(f"http://127.0.0.1:{port}/kabusapi", "pw", policy=ReconnectPolicy(fast_cadence=0.1))
    feed.registry.replace_watch(WATCH)  # what the board does at start, before any REST call succeeded
    log = FeedLog(feed).start()
    try:
        await wait_until(lambda: log.states().count("unreachable") >= 3, 10, "three retries")
        async with TestServer(port=port, seed=1, rate_limit=None) as server:
            await wait_until(lambda: log.quotes_on(1) >= 2, 15, "quotes from the late station")
            assert server.registered == ["7203@1", "9433@1"]
            assert {q.key for q in log.quotes} <= {SymbolKey("7203"), SymbolKey("9433")}
    finally:
        await log.stop()
    first_live = log.states().index("live")
    retries = [s for s in log.statuses[:first_live] if s.state == "unreachable"]
    assert all("connection refused" in s.detail for s in retries), [s.detail for s in retries]
    # Nothing listens: the station's cadence, not the back-off of a dropped socket.
    assert {s.delay for s in retries} == {0.1}
    assert len({s.since for s in retries}) == 1  # one state entered once, told at each try
    assert feed.connections == 1


async def test_the_board_opens_without_a_station_says_so_and_connects_when_it_appears(tmp_path: Path) -> None:
    port = free_port()
    app = make_app(tmp_path, demo=False, password="pw", base_url=f"http://127.0.0.1:{port}/kabusapi",
                   symbols=WATCH)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        texts = record_status_texts(app.status_bar)
        await wait_for(pilot, lambda: "cannot reach" in app.panel.outcome, what="the panel's message")
        await wait_for(pilot, lambda: sum("unreachable" in t for t in texts) >= 2, what="a second retry")
        assert app.table.order == [SymbolKey("7203"), SymbolKey("9433")]  # the board is open, rows and all
        refused = [t for t in texts if "unreachable" in t]
        assert refused and all("connection refused" in t for t in refused)
        # An evening station: it pushes nothing, so only the REST snapshots can fill the rows.
        async with TestServer(port=port, seed=1, rate=1e-9, rate_limit=None) as station:
            await wait_for(pilot, lambda: station.registered == ["7203@1", "9433@1"], 15, "registration")
            await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="snapshots")
            await wait_for(pilot, lambda: "live" in app.status_bar.text)
            assert app.panel.outcome == "kabu: connected"  # not the stale "cannot reach"
            assert app.feed.connections == 1 and app.feed.received == 0


# -- a station that never answers a ping ---------------------------------------------------------


async def test_the_feed_sends_no_ping_so_a_ping_deaf_station_keeps_its_one_socket():
    quote = json.dumps({"Symbol": "7203", "Exchange": 1, "CurrentPrice": 2500.0})
    async with scripted_station([quote], repeat_every=0.1) as station:
        feed = KabuFeed(station.base_url)
        log = FeedLog(feed).start()
        try:
            await wait_until(lambda: feed._ws is not None, what="the socket")
            assert feed._ws.ping_interval is None  # no keepalive at all, not just a slow one
            counts = []
            for _ in range(6):
                await asyncio.sleep(0.5)
                counts.append(len(log.quotes))
        finally:
            await log.stop()
        assert station.pings == [] and feed.connections == 1 and station.connections == 1
        assert all(later > earlier for earlier, later in zip([0, *counts], counts, strict=False)), counts
        # The control: a client that does ping is caught pinging, and gives up on this station.
        async with connect(f"ws://127.0.0.1:{station.port}/", ping_interval=0.2, ping_timeout=0.2) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 3)
        assert station.pings and closed.value.sent is not None and closed.value.sent.code == 1011


@pytest.mark.slow
async def test_slow_one_socket_lives_past_websockets_default_keepalive_on_the_ping_deaf_station(server):
    """~45 s: past websockets' default 20 s ping + 20 s timeout, against the test server's PUSH
    socket, which answers no ping (like Kabu)."""
    feed = KabuFeed(server.base_url, "pw")
    await feed.register([SymbolKey("7203")])
    log = FeedLog(feed).start()
    try:
        for _ in range(9):
            before = len(log.quotes)
            await asyncio.sleep(5)
            assert len(log.quotes) > before, "quotes stopped"
    finally:
        await log.stop()
    assert feed.connections == 1 and "reconnecting" not in log.states()


# -- a second socket elsewhere -------------------------------------------------------------------


async def test_a_newer_socket_closing_ours_is_said_and_the_feed_takes_the_socket_back(server):
    feed = KabuFeed(server.base_url, "pw")
    await feed.register(WATCH)
    log = FeedLog(feed).start()
    try:
        await wait_until(lambda: log.quotes_on(1) >= 1)
        async with connect(server.websocket_url, ping_interval=None) as intruder:
            await wait_until(lambda: "reconnecting" in log.states(), what="our socket closed")
            await wait_until(lambda: log.quotes_on(2) >= 1, RESUME_WITHIN, "quotes on our new socket")
            with pytest.raises(ConnectionClosed) as closed:  # ours, newer again, closed the intruder
                while True:  # it had the station's frames meanwhile
                    await asyncio.wait_for(intruder.recv(), 3)
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "superseded by a new connection"
    finally:
        await log.stop()
    reconnecting = next(s for s in log.statuses if s.state == "reconnecting")
    assert "superseded by a new connection" in reconnecting.detail
    assert "another" in reconnecting.detail  # says why: a newer PUSH socket elsewhere, Kabu serves one
    assert server.registered == ["7203@1", "9433@1"]


async def test_the_board_says_another_socket_took_the_station_and_carries_on(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=WATCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.feed is not None and app.feed.received > 0)
        texts = record_status_texts(app.status_bar)
        feed = app.feed
        async with connect(app.server.websocket_url, ping_interval=None):
            await wait_for(pilot, lambda: feed.connections == 2, RESUME_WITHIN, "the feed back on")
        assert any("reconnecting" in t and "superseded by a new connection" in t for t in texts), texts
        pushed = feed.received
        await wait_for(pilot, lambda: feed.received > pushed, what="quotes again")
