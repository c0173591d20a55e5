"""The positions view (p) driven with Pilot against the real test server: P&L that follows the pushed
prices and matches (last - average) x quantity, its error lines, and the colour-blind palette saved
across a restart."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from quoteboard.board.colours import palette_variables
from quoteboard.board.widgets.depth_view import DepthView
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO
from quoteboard.store.settings import Settings, SettingsStore
from tests.app_support import make_app, screen_text, wait_for

SIZE = (160, 48)
#: What the demo holds, by code: (long?, quantity, average price).
HELD = {h.symbol: (h.side == "long", h.qty, h.price) for h in DEMO_PORTFOLIO}


def demo_with_positions() -> TestServer:
    """The seeded demo market, pushing at Kabu's pace, holding the demo's portfolio."""
    return TestServer(seed=1, rate_limit=None, portfolio=DEMO_PORTFOLIO)


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def view_lines(app) -> list[str]:
    """What the positions view shows on screen, line by line (the side panel left out)."""
    region = app.positions_view.region
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    return [strip.crop(region.x, region.right).text.rstrip() for strip in strips]


def shown_rows(app) -> dict[str, list[str]]:
    """The positions view's rows as the screen shows them, by code: the cells after the code."""
    rows = {}
    for line in view_lines(app):
        cells = line.split()
        code = cells[0].removesuffix("@1") if cells else ""
        if code in HELD and len(cells) == 8 and cells[2] in ("long", "short"):
            rows[code] = cells[1:8]
    return rows


def all_priced(app) -> bool:
    rows = shown_rows(app)
    return len(rows) == len(HELD) and all(cells[4] != "—" for cells in rows.values())


def check_pnl_by_hand(rows: dict[str, list[str]]) -> float:
    """Each row's P&L against (last - average) x quantity (reversed for a short); the total P&L."""
    total = 0.0
    for code, (_name, side, qty, average, last, pnl, pct) in rows.items():
        long, held_qty, held_average = HELD[code]
        assert side == ("long" if long else "short")
        assert (number(qty), number(average)) == (held_qty, held_average)
        expected = (number(last) - held_average) * held_qty * (1 if long else -1)
        assert abs(number(pnl) - expected) <= 0.5, (code, rows[code], expected)  # shown to the yen
        assert abs(number(pct) - 100 * expected / (held_average * held_qty)) <= 0.005
        total += expected
    return total


async def test_p_shows_positions_whose_pnl_follows_the_pushed_prices(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=demo_with_positions)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert app.positions_view.display and not app.table.display
        await wait_for(pilot, lambda: all_priced(app), what="every position priced")
        first = shown_rows(app)
        total = check_pnl_by_hand(first)
        line = next(line for line in view_lines(app) if line.split()[:1] == ["Total"])
        assert abs(number(line.split()[-2]) - total) <= 0.5 * len(HELD)
        # Sony is held but not on the list on screen: it is registered for PUSH all the same.
        assert "6758@1" in app.server.registered and SymbolKey("6758") not in app.board
        # The prices move (the test server pushes), and the P&L with them.
        await wait_for(
            pilot,
            lambda: (
                {code: cells[4] for code, cells in shown_rows(app).items()}
                != {code: cells[4] for code, cells in first.items()}
            ),
            what="a position's last price to move",
        )
        check_pnl_by_hand(shown_rows(app))
        # The table's keys do nothing to the rows out of sight.
        rows, sort = list(app.board.rows), app.table.sort_mode
        await pilot.press("d", "s")
        assert list(app.board.rows) == rows and app.table.sort_mode == sort
        await pilot.press("escape")
        assert app.table.display and not app.positions_view.display
        await pilot.press("p", "p")
        assert app.table.display


async def test_u_reads_the_positions_again(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=demo_with_positions)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.positions_view.loads == 1, what="the first read")
        app.server.kabu.portfolio = DEMO_PORTFOLIO[:2]
        await pilot.press("u")
        await wait_for(pilot, lambda: app.positions_view.loads == 2, what="the second read")
        await wait_for(pilot, lambda: set(shown_rows(app)) == {"7203", "9433"}, what="two positions")


async def test_an_account_with_no_positions_says_so(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=lambda: TestServer(seed=1, rate_limit=None, portfolio=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: "no positions: the account on demo holds nothing" in screen_text(app))
        assert app.positions_view.book.rows == []


async def test_a_station_that_refuses_says_so(tmp_path: Path) -> None:
    def station(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"ResultCode": 0, "Token": "t"})
        return httpx.Response(500, json={"Code": 4001001, "Message": "内部エラー"})

    app = make_app(tmp_path, demo=False, password="pw", rest_transport=httpx.MockTransport(station))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: "the station refused to list the positions" in screen_text(app))
        assert "4001001" in screen_text(app)


async def test_an_unreachable_station_says_so(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app = make_app(tmp_path, demo=False, password="pw", base_url=f"http://127.0.0.1:{port}/kabusapi")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: "the station cannot be reached" in screen_text(app))


def colour_of(app, name: str) -> str:
    """The colour the quote table paints ``name`` (up, down) with, as #RRGGBB."""
    style = app.table._style(name)
    return style.color.triplet.hex.upper()


async def test_the_colour_blind_palette_is_chosen_in_the_palette_and_kept(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.toml")
    app = make_app(tmp_path, demo_server=demo_with_positions, settings=store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        dark = app.current_theme.dark
        standard = colour_of(app, "up")
        await pilot.press("ctrl+p")
        await pilot.press(*"colour-blind")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.palette == "colour-blind", what="the palette switched")
        blue = palette_variables("colour-blind", {}, dark)["quote-up-text"].upper()
        assert colour_of(app, "up") == blue != standard
        orange = palette_variables("colour-blind", {}, dark)["quote-down-text"].upper()
        assert colour_of(app, "down") == orange
        # The book in the panel follows too (bids up-coloured, asks down-coloured).
        depth = app.panel.query_one(DepthView)
        assert depth._style("bid").color.triplet.hex.upper() == blue
        assert depth._style("ask").color.triplet.hex.upper() == orange
        # The rows drawn before are not kept in their old colours.
        up = next(
            index for index, key in enumerate(app.table.order) if (app.board.rows[key].quote.change or 0) > 0
        )
        await pilot.pause(0.1)
        colours = {
            s.style.color.triplet.hex.upper()
            for s in app.table.render_line(up + 1)
            if s.style and s.style.color
        }
        assert blue in colours
    assert store.load() == (Settings("colour-blind"), None)
    assert 'palette = "colour-blind"' in (tmp_path / "settings.toml").read_text(encoding="utf-8")

    again = make_app(tmp_path, settings=store)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert again.palette == "colour-blind" and colour_of(again, "up") == blue
        again.set_palette("theme")
        assert colour_of(again, "up") == standard
    assert store.load() == (Settings("theme"), None)


def test_a_damaged_settings_file_is_moved_aside_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("palette = [", encoding="utf-8")
    settings, message = SettingsStore(path).load()
    assert settings == Settings() and message is not None
    assert "not valid TOML" in message and "settings.toml.bak" in message
    assert (tmp_path / "settings.toml.bak").read_text(encoding="utf-8") == "palette = ["
    path.write_text('palette = "pink"', encoding="utf-8")
    settings, message = SettingsStore(path).load()
    assert settings == Settings() and message is not None and "'pink' is not one of" in message
