"""Write the README's alerts screenshot (SVG): a `>` alert set with `!`, fired by the demo market.

Runs the real board headless on the embedded demo market (seeded); the market is moved past the
alert's threshold, so the picture shows the notification, the marked row and the panel's alert list.
Usage: ``python scripts/screenshot_alerts.py [OUTDIR]``. The watchlist and alerts used are
throwaway ones: your own are not touched. (A script of its own so that scripts/screenshots.py,
which other features extend, is left alone.)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from quoteboard.alerts.book import AlertStore
from quoteboard.board.app import QuoteboardApp
from quoteboard.board.controllers.lists import DEMO_WATCHLIST
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.store.watchlist import WatchlistStore
from screenshots import SIZE, save_svg, settle  # this script's folder is on sys.path: run as a file

TOYOTA = SymbolKey("7203")


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as config:
        app = QuoteboardApp(
            sources=[FeedSource("demo", server=lambda: TestServer(seed=11, rate_limit=None))],
            symbols=DEMO_WATCHLIST,
            store=WatchlistStore(Path(config) / "watchlist.toml"),
            alerts=AlertStore(Path(config) / "alerts.toml"),
        )
        async with app.run_test(size=SIZE, notifications=True) as pilot:  # the toast is the point
            await settle(pilot, lambda: all(row.quote is not None for row in app.board))
            last = app.board.rows[TOYOTA].quote.last
            threshold = round(last * 1.005)
            await pilot.press("exclamation_mark", *f"<{round(last * 0.97)}", "enter")
            await pilot.press("exclamation_mark", *f">{threshold}", "enter")
            app.server.kabu.market.jump("7203@1", threshold * 1.002)
            await settle(pilot, lambda: any(not alert.armed for alert in app.alerts.book))
            await pilot.pause(1.0)
            save_svg(app, out / "alerts.svg")
            await pilot.press("q")
    print(out / "alerts.svg")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "screenshots"
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
