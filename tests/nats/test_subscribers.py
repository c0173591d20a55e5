"""Subscribers over one real nats-server: ``stream --nats`` processes, NATS feeds and a headless board,
all fed by one relay on one station socket; restarts of the NATS server and of the relay; and a NATS
password that appears nowhere."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from quoteboard.board.app import QuoteboardApp
from quoteboard.board.widgets.columns import format_price
from quoteboard.feeds.nats import NatsFeed
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer, RelayStartError
from quoteboard.server import TestServer
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import screen_text, wait_for
from tests.nats.support import NatsServer, eventually

PASSWORD = "station-secret-pw"
NATS_PASSWORD = "nats-Secret-pw-4821"
CODES = ("7203", "9433", "6758", "9984", "8306", "7974", "6861", "4063")
ROOT = Path(__file__).resolve().parents[2]


def _stream(url: str, codes: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "quoteboard",
            "stream",
            "--nats",
            url,
            "--symbols",
            codes,
            "--count",
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as srv:
        yield srv


def _relay(station: TestServer, url: str, lines: list[str]) -> RelayServer:
    return RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lines.append,
                       nats=NatsTarget.parse(url), lease_check=0.1)  # fmt: skip


class Seen:
    """The quotes one NATS feed handed on, by symbol."""

    def __init__(self) -> None:
        self.quotes: list[Quote] = []

    def __call__(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def codes(self) -> set[str]:
        return {q.symbol for q in self.quotes}


async def test_twenty_subscribers_get_their_symbols_over_one_station_socket(station, nats_server, tmp_path):
    lines: list[str] = []
    async with _relay(station, nats_server.url, lines):
        streams = [_stream(nats_server.url, f"{CODES[i]},{CODES[i + 1]}", 4) for i in range(3)]
        feeds, seen, runs = [], [], []
        for i in range(16):
            feed = NatsFeed(NatsTarget.parse(nats_server.url), client_id=f"feed{i}")
            feed.registry.replace_watch([SymbolKey(CODES[i % 8], 1)])
            await feed.start()
            feed.events.quote.subscribe(got := Seen())
            feeds.append(feed)
            seen.append(got)
            runs.append(asyncio.create_task(feed.run()))
        nats = FeedSource.of_nats(NatsTarget.parse(nats_server.url))
        board_keys = [SymbolKey("9984", 1), SymbolKey("4063", 1)]
        app = QuoteboardApp(sources=[nats, FeedSource("demo")], symbols=board_keys,
                            store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
        try:
            async with app.run_test(size=(120, 30)) as pilot:
                await wait_for(
                    pilot, lambda: all(app.board.rows[k].quote for k in app.board.rows), 15, "board rows"
                )
                await wait_for(
                    pilot, lambda: "NATS 127.0.0.1:" in screen_text(app), 5, "NATS in the status bar"
                )
                await eventually(lambda: all(len(g.quotes) >= 2 for g in seen), 15, "every feed's quotes")
                outputs = [await asyncio.to_thread(p.communicate, timeout=30) for p in streams]
                # One feed unregisters: the others keep their symbols (feed0 and feed8 share 7203).
                await feeds[0].unregister([SymbolKey("7203", 1)])
                assert "7203@1" in station.registered
                count = len(seen[8].quotes)
                await eventually(lambda: len(seen[8].quotes) > count, 10, "7203 still flowing to feed8")
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            for feed in feeds:
                await feed.close()
    for i, (out, err) in enumerate(outputs):
        records = [json.loads(line) for line in out.splitlines()]
        assert len(records) == 4, err
        assert {r["symbol"] for r in records} <= {CODES[i], CODES[i + 1]}
    for i, got in enumerate(seen):
        assert got.codes() == {CODES[i % 8]}  # its symbols, and only those
    assert station.kabu.push.opened == 1 and station.kabu.push.peak == 1  # the relay's one socket


async def test_quotes_resume_after_the_nats_server_and_then_the_relay_restart(station, tmp_path):
    lines: list[str] = []
    with NatsServer(tmp_path) as server:
        relay = _relay(station, server.url, lines)
        await relay.__aenter__()
        feed = NatsFeed(NatsTarget.parse(server.url), client_id="survivor", check_every=0.2)
        feed.registry.replace_watch([SymbolKey("7203", 1), SymbolKey("9433", 1)])
        await feed.start()
        feed.events.quote.subscribe(seen := Seen())
        states: list[str] = []
        feed.events.status.subscribe(lambda status: states.append(status.state))
        run = asyncio.create_task(feed.run())
        try:
            await eventually(lambda: len(seen.quotes) >= 2, 10, "first quotes")
            server.stop()
            await eventually(lambda: feed.status.state != "live", 10, "the feed marked not live")
            server.start()
            count = len(seen.quotes)
            await eventually(lambda: len(seen.quotes) > count + 2, 10, "quotes after the NATS restart")
            await relay.aclose()
            await eventually(lambda: feed.status.state != "live", 10, "the feed marked not live")
            relay = _relay(station, server.url, lines)
            await relay.__aenter__()
            count = len(seen.quotes)
            await eventually(lambda: len(seen.quotes) > count + 2, 10, "quotes after the relay restart")
            await eventually(lambda: feed.status.state == "live", 10, "live again")
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await feed.close()
            await relay.aclose()
    assert "connecting" in states and states[-1] == "live"
    assert seen.codes() == {"7203", "9433"}


async def test_the_nats_password_appears_nowhere(station, tmp_path):
    lines: list[str] = []
    with NatsServer(tmp_path, user="qb", password=NATS_PASSWORD) as server:
        wrong = NatsTarget.parse(f"nats://qb:wrong-{NATS_PASSWORD}@127.0.0.1:{server.port}")
        try:
            async with RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lines.append,
                                   nats=wrong):  # fmt: skip
                raise AssertionError("a wrong NATS password must not start the relay")
        except RelayStartError as exc:
            refused = str(exc)
        target = NatsTarget.parse(server.url_with_password)
        async with RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lines.append,
                               nats=target) as relay:  # fmt: skip
            stream = _stream(server.url_with_password, "7203", 2)
            out, err = await asyncio.to_thread(stream.communicate, timeout=30)
            async with httpx.AsyncClient() as http:
                status = (await http.get(relay.status_url)).text
            publisher = relay.publisher
            assert publisher is not None
            said = [refused, out, err, status, repr(target), repr(FeedSource.of_nats(target)),
                    repr(publisher), target.shown(), publisher.status_json().decode(), *lines]  # fmt: skip
    assert len(out.splitlines()) == 2, err
    assert "qb:***@" in target.shown()
    for text in said:
        assert NATS_PASSWORD not in text, text


async def test_the_board_on_nats_registers_with_a_and_unregisters_with_d(station, nats_server, tmp_path):
    lines: list[str] = []
    async with _relay(station, nats_server.url, lines):
        nats = FeedSource.of_nats(NatsTarget.parse(nats_server.url))
        app = QuoteboardApp(sources=[nats, FeedSource("demo")], symbols=[SymbolKey("7203", 1)],
                            store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: station.registered == ["7203@1"], 10, "7203 at the station")
            await wait_for(pilot, lambda: "relay live" in screen_text(app), 10, "the relay on the bar")
            await pilot.press("a", *"6758", "enter")
            await wait_for(pilot, lambda: "6758@1" in station.registered, 10, "6758 registered")
            rows = app.board.rows
            await wait_for(pilot, lambda: rows[SymbolKey("6758", 1)].quote is not None, 10, "6758's row")
            assert app.table.cursor_key == SymbolKey("6758", 1)
            await pilot.press("d")
            await wait_for(pilot, lambda: station.registered == ["7203@1"], 10, "6758 unregistered")
            await pilot.press("a", *"0000", "enter")  # the station's refusal, in words, and no row
            await wait_for(pilot, lambda: "0000@1 not registered" in app.panel.outcome, 10, "the refusal")
            assert SymbolKey("0000", 1) not in app.board.rows
        await eventually(lambda: station.registered == [], 10, "the board's symbols let go on quitting")


def test_relay_cli_shows_the_nats_url_masked_and_refuses_an_open_server_without_credentials(nats_server):
    url = f"nats://qb:{NATS_PASSWORD}@127.0.0.1:{nats_server.port}"  # this server takes any login
    relay = subprocess.Popen(
        [sys.executable, "-m", "quoteboard", "relay", "--demo", "--port", "0", "--nats", url],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert relay.stdout is not None
    seen = []
    try:
        for line in relay.stdout:
            seen.append(line)
            if "NATS:" in line:
                break
    finally:
        relay.kill()
        seen.append(relay.communicate(timeout=10)[0])
    text = "".join(seen)
    assert f"nats://qb:***@127.0.0.1:{nats_server.port}" in text and NATS_PASSWORD not in text
    refused = subprocess.run(
        [sys.executable, "-m", "quoteboard", "relay", "--demo", "--port", "0", "--nats", "nats://10.255.0.1:4222"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1 and "without credentials" in refused.stderr


async def test_the_board_keeps_its_last_prices_muted_while_nats_is_away(station, tmp_path):
    lines: list[str] = []
    with NatsServer(tmp_path) as server:
        async with _relay(station, server.url, lines):
            nats = FeedSource.of_nats(NatsTarget.parse(server.url))
            app = QuoteboardApp(sources=[nats, FeedSource("demo")], symbols=[SymbolKey("7203", 1)],
                                store=WatchlistStore(tmp_path / "watchlist.toml"))  # fmt: skip
            async with app.run_test(size=(120, 30)) as pilot:
                row = app.board.rows[SymbolKey("7203", 1)]
                await wait_for(pilot, lambda: row.quote is not None and app.feed.status.state == "live", 10)
                assert not app.table.stale
                server.stop()
                await wait_for(pilot, lambda: app.table.stale, 10, "the rows marked stale")
                last = row.quote
                assert last is not None and format_price(last.last) in screen_text(app)  # kept, muted
                muted = app.table._paint(False).muted
                strip = app.table._render_row(row, cursor=False)
                assert all(segment.style == muted for segment in list(strip)[2:-1])
                server.start()
                await wait_for(pilot, lambda: not app.table.stale, 15, "live again, in colour")
                await wait_for(pilot, lambda: row.quote is not last, 10, "fresh quotes")


async def test_a_nats_feed_says_the_relays_station_is_logged_out_then_live_again(station, nats_server):
    """The relay's station state reaches a subscriber under its own name (issue 21's vocabulary), not
    as a generic "connecting": a station logout reads ``logged_out`` at the relay, then ``live``."""
    async with _relay(station, nats_server.url, []):
        feed = NatsFeed(NatsTarget.parse(nats_server.url), client_id="watcher")
        feed.registry.replace_watch([SymbolKey("7203", 1)])
        await feed.start()
        states: list[str] = []
        feed.events.status.subscribe(lambda status: states.append(status.state))
        run = asyncio.create_task(feed.run())
        try:
            await eventually(lambda: feed.status.state == "live", 15, "live")
            await station.log_out()
            await eventually(lambda: feed.status.state == "logged_out", 15, "logged_out from the relay")
            assert feed.status.detail.startswith("at the relay")
            station.log_in()
            await eventually(lambda: feed.status.state == "live", 30, "live again after the login")
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await feed.close()
    assert "connecting" not in states[states.index("logged_out") :]
