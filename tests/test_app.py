"""The board driven headless with Pilot against the real test server (embedded for the demo feed, a
separate in-process one standing in for Kabu Station)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.controllers.lists import DEMO_WATCHLIST
from quoteboard.board.widgets.help_screen import HelpScreen
from quoteboard.board.widgets.password_screen import PasswordScreen
from quoteboard.board.widgets.quote_table import QuoteTable
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer
from quoteboard.store.watchlist import Watchlist, WatchlistStore
from tests.app_support import Outcomes, frozen_demo_server, make_app, screen_text, table_lines, wait_for

SIZE = (160, 48)


def all_quoted(app) -> bool:
    """Every row has a quote, and the table has drawn it."""
    return (
        len(app.board) > 0
        and all(row.quote is not None for row in app.board)
        and not any("waiting for the first quote" in line for line in table_lines(app))
    )


async def test_demo_opens_on_the_default_watchlist_with_moving_quotes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app), what="a quote on every row")
        assert app.table.order == list(DEMO_WATCHLIST)
        lines = table_lines(app)
        assert lines[0].split()[:3] == ["Code", "Name", "Last"]
        assert "トヨタ自動車" in lines[1] and lines[1].startswith("7203@1")
        # PUSH frames keep coming after the REST snapshots.
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= pushed + 10, what="pushed quotes")
        assert "DEMO" in app.status_bar.text and "live" in app.status_bar.text


async def test_full_width_names_keep_the_columns_aligned(tmp_path: Path) -> None:
    from rich.cells import cell_len

    app = make_app(tmp_path, symbols=[SymbolKey("7203"), SymbolKey("8306"), SymbolKey("9433")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        lines = table_lines(app)[1:4]
        # Last's column ends at the same terminal cell on every row, whatever the name's width.
        ends = {cell_len(line[: line.index(".") + 2]) for line in lines}
        assert len(ends) == 1, lines


async def test_add_registers_at_the_station_and_shows_the_row(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("a")
        assert app.focused is app.query_one("#code")
        await pilot.press(*"6758", "enter")
        assert app.focused is app.table
        await wait_for(pilot, lambda: "6758@1" in app.server.registered, what="registration")
        await wait_for(pilot, lambda: all_quoted(app))
        assert app.table.order == [SymbolKey("7203"), SymbolKey("6758")]
        assert app.table.cursor_key == SymbolKey("6758")
        assert any("ソニーグループ" in line for line in table_lines(app))
        assert "6758@1 registered (2/50)" in app.panel.outcome
        assert WatchlistStore(tmp_path / "watchlist.toml").load().watchlist.symbols == [
            SymbolKey("7203"), SymbolKey("6758"),
        ]  # fmt: skip


async def test_remove_unregisters_the_highlighted_row_at_once(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203"), SymbolKey("9433"), SymbolKey("6758")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.server.registered) == 3)
        await pilot.press("down")
        assert app.table.cursor_key == SymbolKey("9433")
        await pilot.press("d")
        assert app.table.order == [SymbolKey("7203"), SymbolKey("6758")]  # gone before the station answers
        assert app.table.cursor_key == SymbolKey("6758")
        await wait_for(pilot, lambda: app.server.registered == ["7203@1", "6758@1"], what="unregister")
        await pilot.press("delete")
        await wait_for(pilot, lambda: app.server.registered == ["7203@1"])
        assert app.table.order == [SymbolKey("7203")]
        await wait_for(pilot, lambda: "6758@1 unregistered (1/50)" in app.panel.outcome)


async def test_unknown_code_shows_kabus_error_in_words_and_no_row(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("a", *"1111", "enter")
        await wait_for(pilot, lambda: "1111" in app.panel.outcome and "4002001" in app.panel.outcome)
        assert "no such symbol" in app.panel.outcome
        await wait_for(pilot, lambda: app.table.order == [SymbolKey("7203")], what="the row taken away again")
        assert app.table.cursor_key == SymbolKey("7203")


async def test_a_code_that_is_not_a_code_is_refused_in_the_panel(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", *"[red]!", "enter")
        assert "is not a symbol code" in app.panel.outcome
        assert app.table.order == [SymbolKey("7203")]
        await pilot.press("escape")
        assert app.focused is app.table


async def test_the_symbol_cap_is_checked_before_asking(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203"), SymbolKey("9433")], max_symbols=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.server.registered) == 2)
        await pilot.press("a", *"6758", "enter")
        assert "4002006" in app.panel.outcome and "at most 2" in app.panel.outcome
        assert app.table.order == [SymbolKey("7203"), SymbolKey("9433")]
        assert app.server.registered == ["7203@1", "9433@1"]


async def test_sort_cycles_through_added_code_change_and_volume(tmp_path: Path) -> None:
    keys = [SymbolKey(c) for c in ("9984", "7203", "8306", "4063")]
    app = make_app(tmp_path, symbols=keys)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        assert app.table.order == [SymbolKey("9984"), SymbolKey("7203"), SymbolKey("8306"), SymbolKey("4063")]
        await pilot.press("s")
        assert app.table.sort_mode == "code"
        assert app.table.order == sorted(app.table.order)
        await pilot.press("s")
        assert app.table.sort_mode == "change"
        changes = [app.board.rows[k].quote.change_pct for k in app.table.order]
        assert changes == sorted(changes, reverse=True)
        await pilot.press("s")
        volumes = [app.board.rows[k].quote.volume for k in app.table.order]
        assert volumes == sorted(volumes, reverse=True)
        await pilot.press("s")
        assert app.table.sort_mode == "added"
        assert app.table.order == [SymbolKey("9984"), SymbolKey("7203"), SymbolKey("8306"), SymbolKey("4063")]
        assert "sort: added" in app.status_bar.text


async def test_help_opens_on_question_mark_and_closes_on_escape(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "cycle the sort" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits_with_status_zero_and_the_watchlist_comes_back(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", *"9433", "enter")
        await wait_for(pilot, lambda: "9433@1" in app.server.registered)
        await pilot.press("s")
        await pilot.press("q")
    assert app.return_code == 0
    again = make_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(again.server.registered) == 2, what="re-registration at start")
        assert set(again.table.order) == {SymbolKey("7203"), SymbolKey("9433")}
        assert again.table.sort_mode == "code"


async def test_a_corrupt_watchlist_is_moved_aside_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "watchlist.toml").write_text("symbols = [7203@1\n", encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        assert app.table.order == list(DEMO_WATCHLIST)
        assert any("watchlist" in n.message and ".bak" in n.message for n in app._notifications)
    assert (tmp_path / "watchlist.toml.bak").read_text(encoding="utf-8") == "symbols = [7203@1\n"


@pytest.mark.parametrize(
    ("options", "rows", "starting_with"),
    [
        ({}, list(DEMO_WATCHLIST), "the demo's watchlist"),
        ({"symbols": [SymbolKey("9433")]}, [SymbolKey("9433")], "the symbols given"),
        ({"demo": False}, [], "an empty watchlist"),
    ],
    ids=["demo", "symbols", "kabu"],
)
async def test_a_damaged_watchlist_notice_says_what_the_board_starts_with(
    tmp_path: Path, options: dict[str, object], rows: list[SymbolKey], starting_with: str
) -> None:
    (tmp_path / "watchlist.toml").write_bytes(b'symbols = ["7203@1", "\xff"]\n')
    app = make_app(tmp_path, **options)

    def notices() -> list[str]:
        return [n.message for n in app._notifications if n.title == "watchlist"]

    async with app.run_test(size=SIZE) as pilot:
        # Both: an empty table is also what the board shows before it has read the file.
        await wait_for(pilot, lambda: notices() and app.table.order == rows, what=f"a notice, rows {rows}")
        [said] = notices()
        assert "is not UTF-8 text (byte 0xFF at offset 22); kept it as watchlist.toml.bak" in said
        assert said.endswith(f"; starting with {starting_with}")
    assert (tmp_path / "watchlist.toml.bak").read_bytes() == b'symbols = ["7203@1", "\xff"]\n'


async def test_a_config_directory_that_cannot_be_written_is_said_once_and_the_board_runs(
    tmp_path: Path,
) -> None:
    # A file where the config directory should be: unwritable for root too, unlike chmod.
    (tmp_path / "config").write_text("not a directory", encoding="utf-8")
    app = make_app(tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("a", *"6758", "enter")
        await wait_for(pilot, lambda: "6758@1" in app.server.registered, what="6758 registered")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.table.sort_mode == "code")
        unsaved = [n for n in app._notifications if n.title == "watchlist not saved"]
        assert len(unsaved) == 1, [n.message for n in app._notifications]  # said once, not per change
        assert "could not create the directory" in unsaved[0].message
        assert SymbolKey("6758") in app.table.order and app.feed is not None and app.feed.received > 0
    assert (tmp_path / "config").read_text(encoding="utf-8") == "not a directory"


@pytest.fixture
async def station():
    """A second station standing in for Kabu Station, with a password."""
    async with TestServer(seed=3, rate_limit=None, password="s3cret-pw") as srv:
        yield srv


async def test_switching_to_kabu_asks_the_password_and_registers_the_same_watchlist(
    tmp_path: Path, station: TestServer
) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203"), SymbolKey("9433")], base_url=station.base_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        demo = app.server
        await pilot.press("f")
        assert isinstance(app.screen, PasswordScreen)
        await pilot.press(*"s3cret-pw")
        assert "s3cret-pw" not in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: station.registered == ["7203@1", "9433@1"], what="kabu registration")
        assert app.feed.name == "kabu" and app.server is None
        await wait_for(pilot, lambda: app.feed.status.state == "live" and all_quoted(app))
        assert demo.kabu.push._current is None  # the demo's socket is closed and its server gone
        assert "KABU" in app.status_bar.text
        assert "s3cret-pw" not in screen_text(app)
        # ... and back to the demo, which gets the same watchlist.
        kabu_socket_count = station.kabu.push
        await pilot.press("f")
        await wait_for(pilot, lambda: app.feed.name == "demo" and app.server is not None)
        await wait_for(pilot, lambda: app.server.registered == ["7203@1", "9433@1"])
        await wait_for(pilot, lambda: kabu_socket_count._current is None, what="the kabu socket closed")


async def test_a_feed_switch_cancels_the_old_feeds_workers_as_a_group(
    tmp_path: Path, station: TestServer
) -> None:
    """A REST call still running for the old feed must not act on the new one: its worker is
    cancelled with the feed, whatever it was waiting for."""
    import asyncio

    from textual.worker import WorkerState

    app = make_app(tmp_path, symbols=[SymbolKey("7203")], base_url=station.base_url, password="s3cret-pw")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        old_group, never = app.feed_control._group, asyncio.Event()
        stuck = app.feed_control.spawn(never.wait, "a call that never answers")
        await pilot.press("f")
        await wait_for(pilot, lambda: app.feed.name == "kabu" and app.feed.status.state == "live")
        assert stuck.state is WorkerState.CANCELLED and app.feed_control._group != old_group
        assert not [worker for worker in app.workers if worker.group == old_group and not worker.is_finished]


async def test_a_wrong_password_shows_kabus_answer(tmp_path: Path, station: TestServer) -> None:
    app = make_app(tmp_path, demo=False, password="wrong", base_url=station.base_url,
                   symbols=[SymbolKey("7203")])  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "4001013" in app.panel.outcome, what="the token refusal")
        assert app.feed.status.state == "wrong_password"
        assert "API password is wrong" in app.status_bar.text
        assert station.registered == []


async def test_a_refused_password_is_forgotten_and_asked_again_with_the_refusal(
    tmp_path: Path, station: TestServer
) -> None:
    app = make_app(tmp_path, base_url=station.base_url, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("f", *"mistyped", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen) and app.screen.refused,
                       what="the password asked again")  # fmt: skip
        assert "4001013" in app.screen.refused and "4001013" in screen_text(app)
        assert app.feed_control._sources[1].needs_password  # not kept for the next f either
        await pilot.press(*"s3cret-pw", "enter")
        await wait_for(pilot, lambda: station.registered == ["7203@1"], what="kabu registration")
        await wait_for(pilot, lambda: app.feed.name == "kabu" and app.feed.status.state == "live")
        assert not isinstance(app.screen, PasswordScreen)


async def test_an_unreachable_station_is_said_and_retried(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo=False, password="pw", base_url="http://127.0.0.1:9/kabusapi",
                   symbols=[SymbolKey("7203")])  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "cannot reach" in app.panel.outcome)
        # Nothing listens there: "unreachable", asked again at its cadence (issue 21's vocabulary).
        await wait_for(pilot, lambda: app.feed.status.state == "unreachable", what="a retry")
        assert "unreachable" in app.status_bar.text
        assert app.table.order == [SymbolKey("7203")]  # the watchlist is kept


async def test_only_rows_that_changed_are_rebuilt(tmp_path: Path) -> None:
    keys = [SymbolKey(c) for c in ("7203", "9433", "6758", "9984", "8306")]
    app = make_app(tmp_path, symbols=keys)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await app.feed_control.stop_feed()
        await pilot.pause(0.6)  # let flashes end
        table = app.table
        app._frame()
        before = table.rows_rendered
        quote = app.board.rows[SymbolKey("9433")].quote
        app.board.apply(quote)
        app._frame()
        await pilot.pause(0.1)
        assert table.rows_rendered - before == 1


async def test_a_repaint_of_table_rows_leaves_the_panel_and_the_bars_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual renders, whole, every widget whose clip overlaps a repaint: the board's containers
    keep a row's repaint from reaching the panel, the status bar and the footer (see layout.py)."""
    from textual.widget import Widget

    keys = [SymbolKey(c) for c in ("7203", "9433", "6758", "9984", "8306")]
    app = make_app(tmp_path, symbols=keys)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await app.feed_control.stop_feed()
        await pilot.pause(0.6)  # let flashes end
        rendered: list[str] = []
        for cls in (Widget, QuoteTable):  # the table draws its lines itself

            def counted(widget: Widget, crop, original=cls.render_lines):
                rendered.append(type(widget).__name__)
                return original(widget, crop)

            monkeypatch.setattr(cls, "render_lines", counted)
        # A screen at rest first: the status bar's once-a-second update or a start-up repaint may
        # still be due on a loaded machine, so rest means quiet for longer than that second, and a
        # repaint of the whole screen counts against the frame only if it happens on every try.
        whole_screen: list[list[str]] = []
        for _ in range(3):
            quiet = 0
            for _ in range(40):
                rendered.clear()
                await pilot.pause(0.3)
                quiet = 0 if rendered else quiet + 1
                if quiet >= 5:
                    break
            assert quiet >= 5, f"the screen never came to rest: {rendered}"
            rendered.clear()
            for key in keys[2:]:  # not the highlighted row: the panel has nothing new to show
                app.board.apply(app.board.rows[key].quote)
            app._frame()
            await pilot.pause(0.2)
            assert "QuoteTable" in rendered
            if not {"RegisterPanel", "StatusBar", "Footer"} & set(rendered):
                break
            whole_screen.append(list(rendered))
        else:
            raise AssertionError(f"a row's repaint reached the panel and the bars: {whole_screen}")


async def test_snapshots_are_fetched_only_for_rows_the_socket_has_not_filled(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("9433"), SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        feed = app.feed
        asked: list[SymbolKey] = []
        board = feed.rest.board

        async def counted(key: SymbolKey):
            asked.append(key)
            return await board(key)

        feed.rest.board = counted  # type: ignore[method-assign]
        app.board.rows[SymbolKey("9433")].quote = None  # as after the close: nothing pushed for it
        await app.feed_control.fetch_boards(feed, [SymbolKey("9433"), SymbolKey("7203")]).wait()
        assert asked == [SymbolKey("9433")]
        assert app.board.rows[SymbolKey("9433")].quote is not None


async def test_switching_feed_while_the_snapshots_are_fetched_is_no_error(tmp_path: Path) -> None:
    """In the evening nothing is pushed, so the snapshots of a 50-symbol watchlist take about 6 s
    to fetch; a switch of feed meanwhile closes the old feed's client under its fetch."""
    app = make_app(tmp_path, demo_server=frozen_demo_server)  # pushes nothing: snapshots only
    shown = Outcomes()
    async with app.run_test(size=SIZE, message_hook=shown) as pilot:
        await wait_for(pilot, lambda: any(row.quote is not None for row in app.board), what="a snapshot")
        assert not all_quoted(app)  # still fetching
        await app.feed_control._switch(0)  # the demo again, from the start
        await wait_for(pilot, lambda: all_quoted(app), what="the new feed's snapshots")
        assert not [text for text in shown if "unexpected error" in text]


async def test_quote_text_is_never_parsed_as_markup(tmp_path: Path) -> None:
    import msgspec

    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await app.feed_control.stop_feed()
        quote = msgspec.structs.replace(
            app.board.rows[SymbolKey("7203")].quote, name="[red]Evil[/red] [link=x]"
        )
        app.board.apply(quote)
        app._frame()
        await pilot.pause(0.1)
        assert "[red]Evil[/red] [link=x]" in table_lines(app)[1]
        assert "[red]Evil[/red]" in screen_text(app)  # the panel's title too


async def test_the_watchlist_is_saved_without_the_password(tmp_path: Path, station: TestServer) -> None:
    app = make_app(tmp_path, demo=False, password="s3cret-pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203")])  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: station.registered == ["7203@1"])
        await pilot.press("q")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"s3cret-pw" not in path.read_bytes(), path
    assert WatchlistStore(tmp_path / "watchlist.toml").load().watchlist == Watchlist(
        symbols=[SymbolKey("7203")], sort="added"
    )


async def test_the_board_refuses_to_record_into_a_file_that_is_not_a_recording_and_goes_on(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"ring the broker\n")
    before = notes.read_bytes(), notes.stat().st_mtime_ns
    app = make_app(tmp_path, symbols=[SymbolKey("7203")], record=notes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app) and app.feed.received >= 3, what="quotes, unrecorded")
        refused = [n for n in app._notifications if n.title == "not recording"]
        assert len(refused) == 1 and "not a quoteboard recording" in refused[0].message
        await pilot.press("q")
    assert (notes.read_bytes(), notes.stat().st_mtime_ns) == before


async def test_a_board_recording_replays_on_the_board_to_the_same_last_prices(tmp_path: Path) -> None:
    import json

    from quoteboard.board.launch import board_app
    from quoteboard.feeds.source import recorded_symbols, replay_source
    from quoteboard.kabu.protocol import Quote, decode_frame

    recording = tmp_path / "rec.ndjson"
    app = make_app(tmp_path, symbols=[SymbolKey("7203"), SymbolKey("9433")], record=recording)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.feed.received >= 12, what="frames to record")
        await pilot.press("q")
    saved = (tmp_path / "watchlist.toml").read_bytes()
    last: dict[SymbolKey, Quote] = {}
    for line in recording.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "frame" in entry:
            quote = decode_frame(entry["frame"], entry["t"])
            last[quote.key] = quote
    assert set(last) == {SymbolKey("7203"), SymbolKey("9433")}

    source, first = replay_source(recording, speed=4.0)
    recorded = recorded_symbols(first)
    assert recorded == [SymbolKey("7203"), SymbolKey("9433")]
    replay = board_app(source, FeedSource.kabu("http://127.0.0.1:9/kabusapi"), symbols=[], recorded=recorded)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(replay))
        assert replay.feed.name == "replay" and "REPLAY" in replay.status_bar.text
        await wait_for(pilot, lambda: "end of the recording" in replay.status_bar.text, timeout=20)
        await pilot.pause(0.2)
        for key, quote in last.items():
            shown = replay.board.rows[key].quote
            assert (shown.last, shown.bid, shown.ask, shown.volume) == (
                quote.last,
                quote.bid,
                quote.ask,
                quote.volume,
            )
    assert (tmp_path / "watchlist.toml").read_bytes() == saved  # a replay leaves the watchlist alone


async def test_a_new_users_first_session_add_remove_quit_and_come_back(tmp_path: Path) -> None:
    app = make_app(tmp_path)  # nothing saved, no --symbols: the demo's own list
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        await pilot.press("a", *"6758", "enter")
        await wait_for(pilot, lambda: any("ソニーグループ" in line for line in table_lines(app)), what="Sony")
        assert app.table.cursor_key == SymbolKey("6758")
        await pilot.press("up", "d")
        removed = DEMO_WATCHLIST[-1]
        assert removed not in app.table.order and SymbolKey("6758") in app.table.order
        await pilot.press("q")
    assert app.return_code == 0
    again = make_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(again))
        assert again.table.order == [*DEMO_WATCHLIST[:-1], SymbolKey("6758")]


async def test_the_mouse_highlights_a_row_focuses_the_input_and_presses_footer_keys(tmp_path: Path) -> None:
    from textual.widgets import Footer

    from quoteboard.board.widgets.register_panel import CodeInput

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all_quoted(app))
        # Row 3 of the table (line 0 is the header): the panel follows the highlight.
        await pilot.click(QuoteTable, offset=(2, 3))
        third = app.table.order[2]
        assert app.table.cursor_key == third
        await wait_for(pilot, lambda: app.panel.shown_key == third, what="the panel following")
        await pilot.click(CodeInput)
        assert app.focused is app.panel.query_one(CodeInput)
        await pilot.press(*"6758", "enter")
        await wait_for(pilot, lambda: "6758@1 registered" in app.panel.outcome, what="the add")
        # The footer's "s Sort" key, clicked.
        footer = app.query_one(Footer)
        sort_key = next(key for key in footer.query("FooterKey") if key.action == "cycle_sort")
        before = app.table.sort_mode
        await pilot.click(sort_key)
        assert app.table.sort_mode != before


async def test_a_saved_symbol_the_station_refuses_stays_on_the_board_marked_and_the_rest_stream(
    tmp_path: Path,
) -> None:
    """A code the demo's market does not know (the exchange does: the watchlist is shared by both
    feeds) must neither stop the feed nor be dropped from the watchlist."""
    store = WatchlistStore(tmp_path / "watchlist.toml")
    assert store.save(Watchlist([SymbolKey("7203"), SymbolKey("1301"), SymbolKey("9433")])) is None
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "not registered on demo" in app.panel.outcome, what="the refusal")
        assert "1301@1 not registered on demo: 4002001 no such symbol" in app.panel.outcome
        await wait_for(
            pilot,
            lambda: all(app.board.rows[k].quote is not None for k in (SymbolKey("7203"), SymbolKey("9433"))),
        )
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received > pushed, what="quotes streaming")
        assert (
            app.table.order == [SymbolKey("7203"), SymbolKey("1301"), SymbolKey("9433")]
            and app.feed.status.state == "live"
        )
        row = next(line for line in table_lines(app) if line.startswith("1301@1"))
        assert "not registered on demo: 4002001 no such symbol" in row
        assert sorted(app.server.registered) == ["7203@1", "9433@1"]
        saved = [str(key) for key in store.load().watchlist.symbols]
        assert saved == ["7203@1", "1301@1", "9433@1"]
        # Removing it asks the station nothing (it never registered it).
        await pilot.press("down", "d")
        await wait_for(pilot, lambda: app.panel.outcome == "1301@1 removed", what="the removal")
        assert app.table.order == [SymbolKey("7203"), SymbolKey("9433")]
    assert [str(key) for key in store.load().watchlist.symbols] == ["7203@1", "9433@1"]


def test_settle_gc_freezes_the_start_up_heap_and_makes_young_passes_rarer() -> None:
    import gc

    from quoteboard.board.tuning import settle_gc

    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        settle_gc(12_345)
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (12_345, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_the_board_settles_the_gc_after_start_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quoteboard.board.app as app_module

    calls: list[object] = []
    monkeypatch.setattr(app_module, "SETTLE_GC_SECONDS", 0.05)
    monkeypatch.setattr(app_module, "settle_gc", lambda: calls.append(app))
    for tune_gc in (False, True):
        app = make_app(tmp_path, symbols=[SymbolKey("7203")], tune_gc=tune_gc)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
        assert len(calls) == int(tune_gc)


def test_the_command_line_board_asks_for_a_settled_gc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quoteboard.board.launch as launch

    monkeypatch.setenv("QUOTEBOARD_CONFIG_DIR", str(tmp_path))
    made: list[dict[str, object]] = []

    class Recorded:
        return_code = 0

        def __init__(self, **options: object) -> None:
            made.append(options)

        def run(self) -> None:
            pass

    monkeypatch.setattr(launch, "QuoteboardApp", Recorded)
    assert launch.run_board(FeedSource("demo"), FeedSource.kabu(), symbols=[]) == 0
    assert made and made[0]["tune_gc"] is True
