"""The chart screen (c) driven with Pilot against the real test server: it fills from the demo's
synthesized morning at once, changes interval with its keys, joins the history and the live quotes
without a duplicate candle, redraws a burst of quotes once, takes the palette's colours, and
Escape goes back."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

from quoteboard.board.colours import palette_variables
from quoteboard.board.screen import MainScreen
from quoteboard.board.widgets.chart_screen import ChartScreen, history_note
from quoteboard.history.candles import Tick, build_candles
from quoteboard.history.source import History
from quoteboard.history.tape import SessionTape
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import JST
from tests.app_support import FROZEN_AT, frozen_demo_server, make_app, seeded_demo_server, wait_for

SIZE = (160, 48)
TOYOTA, SONY = SymbolKey("7203"), SymbolKey("6758")


def frozen_board(tmp_path: Path, **options):
    return make_app(tmp_path, demo_server=frozen_demo_server, symbols=[TOYOTA, SONY], **options)


async def rows_filled(pilot) -> None:
    await wait_for(pilot, lambda: all(row.quote is not None for row in pilot.app.board), what="rows")


async def open_chart(pilot) -> ChartScreen:
    await pilot.press("c")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ChartScreen) and app.screen.candles, what="chart")
    await pilot.pause(0.1)
    assert isinstance(app.screen, ChartScreen)
    return app.screen


def jst(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, JST):%H:%M}"


async def test_c_charts_the_highlighted_row_full_from_the_open_and_escape_goes_back(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        await pilot.press("down")  # Sony
        chart = await open_chart(pilot)
        assert chart.key == SONY
        candles = chart.candles
        # The demo market was made at 15:00:02: its morning fills the chart from the 09:00 open.
        assert jst(candles[0].start) == "09:00" and jst(candles[-1].start) == "15:00"
        assert len(candles) == 150 + 151  # 09:00-11:29 and 12:30-15:00, a candle a minute
        assert all(later.start > earlier.start for earlier, later in itertools.pairwise(candles))
        title = chart.view.lines[0]
        assert title.startswith("6758@1") and "1m" in title and "from" not in title
        assert chart.view.lines[-1].split()[-1].startswith("15:")  # the time axis ends at the latest
        last = app.board.rows[SONY].quote
        assert last is not None and candles[-1].close == last.last
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the board again")
        await open_chart(pilot)
        await pilot.press("c")  # c closes it too
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the board again")


async def test_the_interval_keys_regroup_the_day(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        chart = await open_chart(pilot)
        minutes = chart.candles
        for key, interval, count in (
            ("2", "5m", 30 + 31),
            ("3", "15m", 10 + 11),
            ("4", "1h", 3 + 4),
            ("5", "1d", 1),
        ):
            await pilot.press(key)
            await wait_for(pilot, lambda i=interval: chart.candles[0].interval == i, what=interval)
            assert len(chart.candles) == count, interval
            assert chart.view.lines[0].split()[2] == interval
            assert max(c.high for c in chart.candles) == max(c.high for c in minutes)
            assert sum(c.volume for c in chart.candles) == sum(c.volume for c in minutes)
        await pilot.press("1")
        await wait_for(pilot, lambda: chart.candles[0].interval == "1m", what="1m")
        assert chart.candles == minutes
        # The board's keys rest while the chart is shown: d does not remove the charted row.
        await pilot.press("d")
        await pilot.pause(0.1)
        assert TOYOTA in app.board.rows


def quote(hhmmss: str, last: float, volume: float) -> Quote:
    return Quote(
        "7203", exchange=1, last=last, volume=volume, time=f"2026-11-25T{hhmmss}+09:00", prev_close=95.0
    )


def tick(hhmmss: str, last: float, volume: float) -> Tick:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return Tick(datetime(2026, 11, 25, h, m, s, tzinfo=JST).timestamp(), last, volume)


async def test_history_and_live_quotes_join_without_a_duplicate_candle(tmp_path: Path):
    # A history that starts at 10:42 (nothing was running before): the chart says so.
    history = SessionTape()
    held = [tick("10:42:05", 100.0, 5000), tick("10:43:10", 101.0, 5400), tick("10:44:20", 99.0, 5500)]
    for each in held:
        history.add(TOYOTA, each)
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        app.feed_control.history = history
        app.board.rows[TOYOTA].quote = None  # the frozen market's own quote is of another day
        chart = await open_chart(pilot)
        assert "from 10:42 JST" in chart.view.lines[0]
        assert chart.candles == build_candles(held, "1m")
        # The live builder takes over at the last history candle's bucket: 10:44 is extended.
        redraws = chart.view.redraws
        app.feed_control.quotes.publish(quote("10:44:50", 102.0, 5600))
        app.feed_control.quotes.publish(quote("10:45:01", 98.0, 5650))
        live = [*held, tick("10:44:50", 102.0, 5600), tick("10:45:01", 98.0, 5650)]
        assert chart.candles == build_candles(live, "1m")
        assert [c.volume for c in chart.candles][-2:] == [200, 50]  # counted once
        await wait_for(pilot, lambda: chart.view.redraws > redraws, what="a redraw")
        assert "prev 95" in chart.view.lines[0] and "C 98" in chart.view.lines[0]


async def test_a_burst_of_quotes_is_drawn_once(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        chart = await open_chart(pilot)
        await pilot.pause(0.4)
        redraws = chart.view.redraws
        base = FROZEN_AT.strftime("%H:%M")
        last = chart.candles[-1].close
        for n in range(50):
            app.feed_control.quotes.publish(quote(f"{base}:{n % 50 + 5:02d}", last + n % 7, 1e9 + n))
        await wait_for(pilot, lambda: chart.view.redraws > redraws, what="a redraw")
        await pilot.pause(0.6)  # two or three more frame clocks: nothing moved since, nothing drawn
        assert chart.view.redraws == redraws + 1
        assert chart.candles[-1].close == last + 49 % 7


async def test_candles_take_the_palettes_up_and_down_colours(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        chart = await open_chart(pilot)
        view = chart.view

        def colour(ink: str) -> str:
            style = view._style(ink)  # type: ignore[arg-type]
            assert style.color is not None and style.color.triplet is not None
            return style.color.triplet.hex.upper()

        theme = app.get_css_variables()
        assert (
            colour("up") == theme["quote-up-text"].upper()
            and colour("down") == theme["quote-down-text"].upper()
        )
        app.set_palette("colour-blind", save=False)
        await pilot.pause(0.2)
        blind = palette_variables("colour-blind", {}, app.current_theme.dark)
        assert colour("up") == blind["quote-up-text"].upper()
        assert colour("volume-down") == blind["quote-down"].upper()


def test_the_note_says_where_a_late_history_starts():
    assert history_note(tick("10:42:30", 1, 1).time) == "from 10:42 JST"
    assert history_note(tick("09:00:10", 1, 1).time) == ""
    assert history_note(None) == "waiting for the first trade"


async def test_the_board_behind_the_chart_waits_and_the_chart_follows_the_live_quotes(tmp_path: Path):
    # The real demo, pushing at Kabu's pace: the forming candle moves with the quotes, while the
    # rows behind the chart wait to be drawn (each repaint behind it would repaint the chart too).
    app = make_app(tmp_path, demo_server=seeded_demo_server, symbols=[TOYOTA, SONY])
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        chart = await open_chart(pilot)
        first, sony = app.board.rows[TOYOTA].quote, app.board.rows[SONY].updates
        await wait_for(pilot, lambda: app.board.rows[TOYOTA].quote is not first, what="a live quote")
        latest = app.board.rows[TOYOTA].quote
        assert latest is not None and chart.candles[-1].close == latest.last
        await wait_for(pilot, lambda: app.board.rows[SONY].updates > sony, what="a quote for the other row")
        assert app.feed is not None
        await app.feed.unregister([TOYOTA, SONY])  # quiet from here: frames pass, no quote comes
        await pilot.pause(0.5)
        waiting = app.board.take_dirty()
        assert SONY in waiting  # not drawn behind the chart
        for key in waiting:
            app.board.mark_dirty(key)
        rows = app.table.rows_rendered
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.table.rows_rendered > rows, what="the table drawn again")
        assert not app.board.take_dirty()


class FailingHistory:
    """A history that cannot be read (a relay gone, say): the chart says so and goes on live."""

    async def candles(self, key, interval, day=None):
        raise OSError("relay unreachable")


async def test_a_history_that_fails_is_one_line_in_the_title_and_the_chart_goes_on_live(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        app.feed_control.history = FailingHistory()
        chart = await open_chart(pilot)  # the row's own quote is its first candle
        assert "no history: relay unreachable" in chart.view.lines[0]
        assert len(chart.candles) == 1


async def test_c_on_an_empty_board_says_there_is_nothing_to_chart(tmp_path: Path):
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=[])
    async with app.run_test(size=SIZE) as pilot:
        for key in list(app.board.rows):  # (the demo's own eight names, with nothing saved)
            app.board.remove(key)
        app.table.sync_rows()
        await pilot.press("c")
        await wait_for(pilot, lambda: "no symbol to chart" in app.panel.outcome, what="the outcome")
        assert isinstance(app.screen, MainScreen)


class HistoryWithoutStart:
    """Candles from 10:42 from a source that does not say where its ticks start."""

    async def candles(self, key, interval, day=None):
        return History(key, interval, build_candles([tick("10:42:05", 100.0, 5000)], interval), None)


async def test_a_history_that_does_not_say_where_it_starts_starts_at_its_first_candle(tmp_path: Path):
    app = frozen_board(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await rows_filled(pilot)
        app.feed_control.history = HistoryWithoutStart()
        app.board.rows[TOYOTA].quote = None
        chart = await open_chart(pilot)
        assert "from 10:42 JST" in chart.view.lines[0]
