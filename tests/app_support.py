"""Helpers for the board's Pilot and snapshot tests: a seeded or frozen demo server, waiting, screen text."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from textual.pilot import Pilot

from quoteboard.app import QuoteboardApp
from quoteboard.server import TestServer
from quoteboard.server.app import KabuStation
from quoteboard.server.market import Market
from quoteboard.watchlist import WatchlistStore

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
    demo_server: Callable[[], TestServer] = seeded_demo_server,
    **options: object,
) -> QuoteboardApp:
    options.setdefault("demo", True)
    options.setdefault("password", None)
    options.setdefault("base_url", "http://127.0.0.1:9/kabusapi")
    return QuoteboardApp(
        store=WatchlistStore(config / "watchlist.toml"),
        demo_server=demo_server,
        **options,  # type: ignore[arg-type]
    )


async def wait_for(
    pilot: Pilot, predicate: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await pilot.pause(0.05)


def shown_outcomes(app: QuoteboardApp) -> list[str]:
    """Every outcome the register panel shows from now on, in order: a message that a later one
    replaces within a poll (a retry that succeeds at once, on a busy machine) is still seen."""
    shown: list[str] = []
    panel = app.panel
    show = panel.show_outcome

    def recorded(text: str, tone: str = "info") -> None:
        shown.append(text)
        show(text, tone)  # type: ignore[arg-type]

    panel.show_outcome = recorded  # type: ignore[method-assign]
    return shown


def table_lines(app: QuoteboardApp) -> list[str]:
    """What the quote table shows, line by line (header first)."""
    table = app.table
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


def screen_text(app: QuoteboardApp) -> str:
    """Everything on the screen as plain text (what a user would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
