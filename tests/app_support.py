"""Helpers for the board's Pilot and snapshot tests: a seeded or frozen demo server, waiting, screen text."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from textual.message import Message
from textual.pilot import Pilot

from quoteboard.board.app import QuoteboardApp
from quoteboard.board.view import Outcome
from quoteboard.feeds.source import FeedSource
from quoteboard.server import TestServer
from quoteboard.server.app import KabuStation
from quoteboard.server.market import Market
from quoteboard.store.watchlist import WatchlistStore

JST = timezone(timedelta(hours=9))
FROZEN_AT = datetime(2026, 11, 25, 15, 0, 2, tzinfo=JST)


def seeded_demo_server() -> TestServer:
    """The demo market, seeded, pushing at Kabu's pace, without the REST rate limit."""
    return TestServer(seed=1, rate_limit=None)


def frozen_demo_server() -> TestServer:
    """A demo station whose market never moves and never pushes: the board shows exactly the REST
    snapshots of a seeded market at a fixed time, so screenshots are byte-for-byte repeatable."""
    server = TestServer(rate_limit=None)
    server.kabu = KabuStation(
        rate=1e-9,  # one frame per symbol every few decades: nothing is pushed during a test
        rate_limit=None,
        market=Market(seed=7, clock=lambda: FROZEN_AT),
    )
    return server


def make_app(
    config: Path,
    *,
    demo: bool = True,
    password: str | None = None,
    base_url: str = "http://127.0.0.1:9/kabusapi",
    demo_server: Callable[[], TestServer] = seeded_demo_server,
    rest_transport: httpx.AsyncBaseTransport | None = None,
    **options: object,
) -> QuoteboardApp:
    """The board with the saved watchlist in ``config``: on the demo (``demo_server``), or on the Kabu
    station at ``base_url`` (``demo=False``), ``f`` switching between the two."""
    local = FeedSource("demo", server=demo_server)
    kabu = replace(FeedSource.kabu(base_url, password), transport=rest_transport)
    return QuoteboardApp(
        sources=[local, kabu] if demo else [kabu, local],
        store=WatchlistStore(config / "watchlist.toml"),
        **options,  # type: ignore[arg-type]
    )


class Outcomes(list[str]):
    """Every outcome the board says in its panel, in order, seen through Textual's message hook:
    ``app.run_test(message_hook=outcomes)``. A message that a later one replaces within a poll (a
    retry that succeeds at once, on a busy machine) is still seen."""

    def __call__(self, message: Message) -> None:
        if isinstance(message, Outcome):
            self.append(message.text)


async def wait_for(
    pilot: Pilot, predicate: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await pilot.pause(0.05)


def table_lines(app: QuoteboardApp) -> list[str]:
    """What the quote table shows, line by line (header first)."""
    table = app.table
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


def screen_text(app: QuoteboardApp) -> str:
    """Everything on the screen as plain text (what a user would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
