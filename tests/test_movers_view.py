"""The movers view (m) driven with Pilot against the real test server: every ranking type and market
as the station answers it, a mover added with one key, the last answer kept when the station clears
its ranking before the open."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from textual.command import CommandList, CommandPalette
from textual.coordinate import Coordinate

from quoteboard.board.movers import MoversBook
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ranking import MARKETS, RANKING_TYPES, Ranking, parse_ranking
from quoteboard.kabu.records import JST
from quoteboard.server import TestServer
from quoteboard.server.clock import StationClock
from tests.app_support import frozen_demo_server, make_app, screen_text, wait_for
from tests.server.test_server_day import DAY, HandClock, at

SIZE = (160, 48)


def view_lines(app) -> list[str]:
    region = app.widgets.movers.region
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    return [strip.crop(region.x, region.right).text.rstrip() for strip in strips]


def first_rows(app, count: int = 3) -> list[list[str]]:
    """The first rows of the movers table as shown: their cells."""
    table = app.widgets.movers.table
    return [table.render_line(y).text.split() for y in range(1, 1 + min(count, table.row_count))]


def expected(server: TestServer, number: int, division: str) -> Ranking:
    """What the station answers, read from its own rankings (the frozen market does not move)."""
    import msgspec

    body = server.kabu.rankings.answer(str(number), division)
    return parse_ranking(msgspec.json.encode(body), number, division)


async def shown(pilot, app, number: int, division: str) -> None:
    book = app.widgets.movers.book
    await wait_for(
        pilot,
        lambda: (
            book.shown is not None
            and book.shown.ranking.type.number == number
            and book.shown.ranking.division == division
            and book.shown.note is None
        ),
        what=f"ranking {number} on {division}",
    )
    await pilot.pause()


async def test_m_shows_every_ranking_type_and_market_as_the_station_answers(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        assert app.widgets.movers.display and not app.table.display
        server = app.server
        assert server is not None
        # The list's snapshots (GET /board moves its stock once) taken before comparing with the station.
        await wait_for(pilot, lambda: all(r.quote for r in app.board.rows.values()), what="the list's quotes")
        registered = list(server.registered)
        for number in RANKING_TYPES:
            await shown(pilot, app, number, "ALL")
            want = expected(server, number, "ALL").movers[:3]
            rows = first_rows(app)
            assert [row[0] for row in rows] == [str(m.rank) for m in want], number
            if want[0].key is not None:
                assert [row[1] for row in rows] == [m.key.code for m in want if m.key], number
            assert RANKING_TYPES[number].name in screen_text(app)
            await pilot.press("right")
        await shown(pilot, app, 1, "ALL")  # round again to the first type
        for division, name in MARKETS[1:]:
            await pilot.press("e")
            await shown(pilot, app, 1, division) if division in ("T", "TP") else await wait_for(
                pilot, lambda d=division: app.widgets.movers.book.shown.ranking.division == d
            )
            await pilot.pause()
            assert name in screen_text(app)
            assert app.widgets.movers.table.row_count == len(expected(server, 1, division).movers)
        assert "no movers" in "\n".join(view_lines(app))  # Sapporo: nothing listed at the test station
        assert server.registered == registered  # a ranking takes no registration slot
        await pilot.press("escape")
        assert app.table.display and not app.widgets.movers.display


async def test_a_on_a_mover_adds_it_to_the_list_and_registers_it(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await shown(pilot, app, 1, "ALL")
        server = app.server
        assert server is not None
        on_board = set(app.board.rows)
        movers = expected(server, 1, "ALL").movers
        pick = next(m for m in movers if m.key not in on_board)
        index = movers.index(pick)
        for _ in range(index):
            await pilot.press("down")
        rows_before = app.board.rows.keys() | set()
        await pilot.press("a")
        assert pick.key in app.board.rows and pick.key not in rows_before
        await wait_for(pilot, lambda: str(pick.key) in server.registered, what="registered at the station")
        assert f"{pick.key} added to the list" in "\n".join(view_lines(app))
        await pilot.press("d")  # the table's keys do nothing to rows out of sight
        assert pick.key in app.board.rows
        await pilot.press("enter")  # again: already there
        assert "already on the list" in "\n".join(view_lines(app))
        for _ in range(13):
            await pilot.press("right")
        await shown(pilot, app, 14, "ALL")
        await pilot.press("a")
        assert "nothing to add: a sector index" in "\n".join(view_lines(app))


async def test_the_view_keeps_its_last_answer_when_the_station_clears_its_ranking(tmp_path: Path) -> None:
    hand = HandClock()
    clock = StationClock(DAY.replace(hour=9, minute=5), monotonic=hand)
    app = make_app(tmp_path, demo_server=lambda: TestServer(seed=3, rate_limit=None, day=clock))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.movers._clock = clock  # the board's clock, on the station's time
        await pilot.press("m")
        await shown(pilot, app, 1, "ALL")
        rows = first_rows(app)
        at(hand, clock, 7, 55)  # the station clears its ranking at 07:53 (on any day)
        await pilot.press("u")
        note = "the station cleared its ranking at 07:55; showing the answer of 09:05"
        await wait_for(pilot, lambda: note in "\n".join(view_lines(app)), what="the cleared note")
        assert first_rows(app) == rows


def test_a_cleared_answer_keeps_the_held_one_per_type_and_market() -> None:
    book = MoversBook()
    full = parse_ranking(b'{"Ranking": [{"No": 1, "Symbol": "7203"}]}', 1, "ALL")
    empty = parse_ranking(b'{"Ranking": []}', 1, "ALL")
    morning = datetime(2026, 12, 3, 15, 0, tzinfo=JST)
    assert book.take(full, morning).note is None
    cleared = book.take(empty, morning + timedelta(hours=17))
    assert cleared.ranking is full and cleared.at == morning
    assert cleared.note == "the station cleared its ranking at 08:00; showing the answer of 15:00"
    # still cleared a minute later: cleared since 08:00, not since the last ask
    assert book.take(empty, morning + timedelta(hours=17, minutes=1)).note == cleared.note
    assert book.take(parse_ranking(b'{"Ranking": []}', 2, "ALL"), morning).note.startswith("no movers")
    assert book.shown is not None and book.shown.ranking.movers[0].key == SymbolKey("7203")


async def test_the_palette_command_shows_the_movers(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Movers")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        hits = palette.query_one(CommandList)
        await wait_for(
            pilot,
            lambda: any(
                "Movers" in str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)
            ),
            what="the palette's Movers command",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.widgets.movers.display, what="the movers view")
        await shown(pilot, app, 1, "ALL")


async def test_the_ranking_is_asked_again_while_shown_and_not_once_hidden(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.movers.refresh_seconds = 0.2  # (60 s on a board)
        server = app.server
        assert server is not None
        asked = server.kabu.rankings.asked
        await pilot.press("m")
        await wait_for(pilot, lambda: asked["1", "ALL"] >= 3, what="three asks without a key pressed")
        await pilot.press("escape")
        await pilot.pause()
        after = asked["1", "ALL"]
        await pilot.pause(0.7)
        assert asked["1", "ALL"] == after


async def test_a_palette_change_recolours_the_movers_shown(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await shown(pilot, app, 1, "ALL")
        table = app.widgets.movers.table
        change = list(table.columns).index("ChangePercentage")

        def colour_of_the_top_gain() -> str:
            return table.get_cell_at(Coordinate(0, change)).style.color.triplet.hex

        before = colour_of_the_top_gain()
        app.set_palette("colour-blind", save=False)
        await pilot.pause()
        assert colour_of_the_top_gain() != before
        assert colour_of_the_top_gain() == app.get_css_variables()["quote-up-text"].lower()


async def test_p_from_the_movers_shows_the_positions_alone_and_the_asks_stop(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.movers.refresh_seconds = 0.2
        server = app.server
        assert server is not None
        asked = server.kabu.rankings.asked
        await pilot.press("m")
        await wait_for(pilot, lambda: asked["1", "ALL"] >= 2, what="two asks")
        await pilot.press("p")
        assert app.positions_view.display and not app.widgets.movers.display and not app.table.display
        await pilot.pause(0.3)  # a tick that finds the view hidden stops the timer
        after = asked["1", "ALL"]
        await pilot.pause(0.7)
        assert asked["1", "ALL"] == after
        await pilot.press("p")
        assert app.table.display and not app.positions_view.display


async def test_a_ranking_asked_before_any_feed_is_asked_again_once_one_starts(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        feeds = app.feed_control
        await wait_for(pilot, lambda: feeds.feed is not None, what="the demo feed")
        await pilot.press("m")
        await shown(pilot, app, 1, "ALL")
        book = app.widgets.movers.book
        book.shown = None
        for started in feeds.started:  # what a switch of feed (f) tells the controllers
            started()
        await shown(pilot, app, 1, "ALL")
