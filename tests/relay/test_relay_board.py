"""The board behind a relay is one client of it: one token for its REST calls and its PUSH socket,
whatever starts first (the first registration, the positions, the snapshots), and after a re-token."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import httpx
from textual.pilot import Pilot

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.portfolio import Holding
from tests.app_support import make_app, wait_for
from tests.test_cli import free_port

PASSWORD = "station-secret-pw"
SIZE = (160, 48)
#: Boards started one after the other: the token race went wrong in most runs, not all.
RUNS = 12
#: A position: the board registers its code too (for its P&L), under the same token.
HOLDINGS = (Holding("9984", "long", 100, 9620.0),)


async def relay_clients(relay: RelayServer) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(relay.status_url)
    answer.raise_for_status()
    clients: list[dict[str, Any]] = answer.json()["clients"]
    return clients


async def one_client_with(
    pilot: Pilot[Any], relay: RelayServer, symbols: list[str], earlier: set[str], timeout: float = 5.0
) -> str:
    """Wait until the relay's clients (those in ``earlier`` apart) are one, holding a socket and
    ``symbols``; fail saying what the relay shows. Returns its id."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [client for client in await relay_clients(relay) if client["id"] not in earlier]
        if len(mine) == 1 and mine[0]["sockets"] == 1 and sorted(mine[0]["symbols"]) == symbols:
            return str(mine[0]["id"])
        if time.monotonic() > deadline:
            raise AssertionError(f"not one client with a socket and {symbols}: {mine}")
        await pilot.pause(0.05)


async def add_code_and_see_it_pushed(pilot: Pilot[Any], app: QuoteboardApp, code: str) -> None:
    """Press a, type ``code``, Enter; wait for its quotes pushed over the socket (not a snapshot:
    the board hands snapshots to no quote watcher)."""
    key = SymbolKey(code)
    pushed: list[SymbolKey] = []
    app.feed_control.quotes.subscribe(lambda quote: pushed.append(quote.key))
    await pilot.press("a", *code, "enter")
    await wait_for(pilot, lambda: pushed.count(key) >= 3, 10, f"{code}'s quotes pushed")


async def start_empty_and_add(
    pilot: Pilot[Any], app: QuoteboardApp, relay: RelayServer, earlier: set[str]
) -> str:
    """The board, started with an empty list, reads the positions; then a, 7203, Enter: one client
    of the relay with a socket, 7203 and the position's 9984. Returns its id."""
    await wait_for(pilot, lambda: app.positions_view.loads > 0, what="the positions read")
    await add_code_and_see_it_pushed(pilot, app, "7203")
    return await one_client_with(pilot, relay, ["7203@1", "9984@1"], earlier)


async def test_boards_started_empty_are_each_one_client_of_the_relay(tmp_path: Path) -> None:
    async with (
        TestServer(seed=5, rate_limit=None, password=PASSWORD, portfolio=HOLDINGS) as station,
        RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lambda line: None) as relay,
    ):
        earlier: set[str] = set()
        for run in range(RUNS):
            app = make_app(tmp_path / str(run), demo=False, password=PASSWORD, base_url=relay.base_url)
            async with app.run_test(size=SIZE) as pilot:
                try:
                    earlier.add(await start_empty_and_add(pilot, app, relay, earlier))
                except AssertionError as exc:
                    raise AssertionError(f"run {run}: {exc}") from None
            earlier |= {client["id"] for client in await relay_clients(relay)}


async def test_a_client_the_relay_forgot_moves_socket_and_symbols_to_one_new_token(tmp_path: Path) -> None:
    async with (
        TestServer(seed=5, rate_limit=None, password=PASSWORD, portfolio=HOLDINGS) as station,
        RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lambda line: None) as relay,
    ):
        app = make_app(tmp_path, demo=False, password=PASSWORD, base_url=relay.base_url)
        async with app.run_test(size=SIZE) as pilot:
            first = await start_empty_and_add(pilot, app, relay, set())
            assert relay.relay is not None and app.feed is not None
            client = relay.book.client(app.feed.rest.current_token)
            assert client is not None
            await relay.relay.release(client, "its lease ran out")  # its socket stays open
            connections = app.feed.connections
            await add_code_and_see_it_pushed(pilot, app, "6758")  # a 401, then a new token
            await one_client_with(pilot, relay, ["6758@1", "7203@1", "9984@1"], {first})
            assert app.feed.connections == connections + 1  # the socket followed the token
            received = app.feed.received
            await wait_for(pilot, lambda: app.feed.received > received + 5, what="quotes flowing")


async def test_after_a_relay_restart_socket_and_symbols_are_one_new_client(tmp_path: Path) -> None:
    port = free_port()
    async with (
        TestServer(seed=5, rate_limit=None, password=PASSWORD, portfolio=HOLDINGS) as station,
        contextlib.AsyncExitStack() as stack,
    ):
        source = FeedSource.kabu(station.base_url, PASSWORD)
        relay = await stack.enter_async_context(RelayServer(source, port=port, say=lambda line: None))
        app = make_app(tmp_path, demo=False, password=PASSWORD, base_url=relay.base_url)
        pilot = await stack.enter_async_context(app.run_test(size=SIZE))
        await start_empty_and_add(pilot, app, relay, set())
        await relay.aclose()  # it knows no client when it is back
        async with RelayServer(source, port=port, say=lambda line: None) as again:
            pushed: list[SymbolKey] = []
            app.feed_control.quotes.subscribe(lambda quote: pushed.append(quote.key))
            await wait_for(pilot, lambda: len(pushed) >= 5, 15, "quotes through the relay started again")
            await one_client_with(pilot, again, ["7203@1", "9984@1"], set())
