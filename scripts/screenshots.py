"""Write the README's screenshots (SVG) into screenshots/: the board (also under the Japanese palette),
the register panel, the help screen, the positions, the movers, the chart, the board's state marks (the
demo market holding one stock in each state), and the symbol card on an 80x24 console.

Runs the real board headless on the embedded demo market (seeded), the way a user would see it a few
seconds after ``quoteboard --demo``. Usage: ``python scripts/screenshots.py [OUTDIR]``.
The watchlist used is a throwaway one: your own is not touched.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from datetime import time as clock_time
from pathlib import Path

from textual.app import App

from quoteboard.board.app import QuoteboardApp
from quoteboard.board.controllers.lists import DEMO_WATCHLIST
from quoteboard.board.widgets.chart_screen import ChartScreen
from quoteboard.feeds.source import FeedSource
from quoteboard.server import TestServer
from quoteboard.server.app import KabuStation
from quoteboard.server.clock import StationClock, today_at
from quoteboard.server.market import Market
from quoteboard.server.portfolio import DEMO_PORTFOLIO
from quoteboard.store.watchlist import WatchlistStore

SIZE = (160, 48)
#: The marks screenshot: one stock of the demo list held in each board state.
HELD = {
    "7203": "special", "9433": "caution", "9984": "halt", "8306": "continuous", "7974": "auction",
    "6861": "limit-up", "4063": "limit-down", "6501": "pre-open",
}  # fmt: skip
SMALL = (80, 24)

# Rich's SVG draws each styled run as its own <text>, spaces as U+00A0. Without xml:space="preserve" a
# renderer may strip a run's leading and trailing spaces (librsvg counts U+00A0 as a space), so
# "^p" + " palette" reads "^ppalette"; the attribute on the root holds for every run.
ROOT_TAG = re.compile(r"\s*<svg\b[^>]*>")


def renderable(svg: str) -> str:
    """The SVG with its root marked ``xml:space="preserve"``: every run keeps its spaces in any renderer."""
    root = ROOT_TAG.match(svg)
    if root is None:
        raise SystemExit("screenshots: the export does not start with an <svg> element")
    if "xml:space=" in root.group():
        return svg
    return svg.replace("<svg", '<svg xml:space="preserve"', 1)


def save_svg(app: App[object], path: Path) -> None:
    """Write the app's current screen to ``path`` as an SVG that renders with its spaces."""
    path.write_text(renderable(app.export_screenshot()), encoding="utf-8", newline="\n")


async def settle(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: the board did not settle in time")
        await pilot.pause(0.1)


def card_read(app: QuoteboardApp) -> bool:
    """The card of the highlighted row has every answer."""
    facts = app.panel.card.facts
    return facts is not None and facts.key == app.table.cursor_key and not facts.reading


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as config:
        app = QuoteboardApp(
            sources=[FeedSource("demo", server=lambda: TestServer(seed=11, portfolio=DEMO_PORTFOLIO))],
            symbols=DEMO_WATCHLIST,
            store=WatchlistStore(Path(config) / "watchlist.toml"),
        )
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: all(row.quote is not None for row in app.board))
            await pilot.press("down", "down")
            await settle(pilot, lambda: card_read(app))
            await pilot.pause(4.0)  # some history for the sparkline, a few flashes
            save_svg(app, out / "board.svg")
            await pilot.press("a", *"6758", "enter")
            await settle(pilot, lambda: "6758@1 registered" in app.panel.outcome)
            await pilot.press("s", "s")
            await pilot.pause(2.5)
            save_svg(app, out / "panel.svg")
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            save_svg(app, out / "help.svg")
            await pilot.press("escape", "p")
            view = app.positions_view
            await settle(pilot, lambda: view.loads and not view.book.unpriced)
            await pilot.pause(1.0)
            save_svg(app, out / "positions.svg")
            await pilot.press("p", "m")
            movers = app.widgets.movers.book
            await settle(pilot, lambda: movers.shown is not None and movers.shown.note is None)
            await pilot.pause(0.5)
            save_svg(app, out / "movers.svg")
            await pilot.press("m")
            app.set_palette("japanese", save=False)
            await pilot.pause(2.5)  # a few flashes in the palette's colours
            save_svg(app, out / "japanese.svg")
            await pilot.press("q")
        app = QuoteboardApp(
            sources=[FeedSource("demo", server=lambda: TestServer(seed=11))],
            symbols=DEMO_WATCHLIST,
            store=WatchlistStore(Path(config) / "small.toml"),
        )
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot, lambda: all(row.quote is not None for row in app.board))
            await pilot.press("down", "down")  # 9984: a stopped stock loan among its regulations
            await settle(pilot, lambda: card_read(app))
            await pilot.pause(1.0)
            save_svg(app, out / "card.svg")
            await pilot.press("q")
        await marks(out, Path(config))
        await chart(out, Path(config))
    names = ("board", "panel", "help", "positions", "movers", "japanese", "marks", "card", "chart")
    for name in (f"{name}.svg" for name in names):
        print(out / name)


def held_server() -> TestServer:
    server = TestServer(seed=11)
    for code, state in HELD.items():
        server.kabu.market.hold(f"{code}@1", state)
    return server


async def marks(out: Path, config: Path) -> None:
    """The board with a stock in each state: every mark beside Last, the panel's words."""
    app = QuoteboardApp(
        sources=[FeedSource("demo", server=held_server)],
        symbols=DEMO_WATCHLIST,
        store=WatchlistStore(config / "marks.toml"),
    )
    async with app.run_test(size=SIZE) as pilot:
        keys = [key for key in DEMO_WATCHLIST if key.code in HELD]
        await settle(pilot, lambda: all(app.facts.limits(key) is not None for key in keys))
        await pilot.press("end")  # the pre-open row: its indicative price, and the panel's words
        await pilot.pause(2.0)
        save_svg(app, out / "marks.svg")
        await pilot.press("q")


def afternoon_demo() -> TestServer:
    """The demo market with its clock at 14:30 JST today, whatever the hour here: its morning is
    synthesized from 09:00, and the live quotes go on from 14:30."""
    server = TestServer(seed=11)
    clock = StationClock(today_at(clock_time(14, 30)))
    server.kabu = KabuStation(rate_limit=None, market=Market(11, clock=clock))
    return server


async def chart(out: Path, config: Path) -> None:
    app = QuoteboardApp(
        sources=[FeedSource("demo", server=afternoon_demo)],
        symbols=DEMO_WATCHLIST,
        store=WatchlistStore(config / "chart-watchlist.toml"),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: all(row.quote is not None for row in app.board))
        await pilot.press("c", "2")  # the first row, in five-minute candles: the whole day fits
        await settle(pilot, lambda: isinstance(app.screen, ChartScreen) and app.screen.interval == "5m")
        await pilot.pause(3.0)  # a few live quotes move the forming candle
        save_svg(app, out / "chart.svg")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "screenshots"
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
