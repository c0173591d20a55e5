"""Several watchlists on the board, driven with Pilot against the real test server: lists made with
``n``, switched with ``[`` and ``]``, restored after a restart; the station's registrations follow the
list on screen; rows seen before fill at once; ``--list NAME``; an old single-list file migrated."""

from __future__ import annotations

import tomllib
from pathlib import Path

from quoteboard.board.widgets.list_name_screen import ListNameScreen
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.store.watchlist import Watchlist, Watchlists, WatchlistStore
from tests.app_support import Outcomes, frozen_demo_server, make_app, screen_text, wait_for

SIZE = (160, 48)
TOYOTA, KDDI, SONY, MUFG, SMFG = (SymbolKey(c) for c in ("7203", "9433", "6758", "8306", "8316"))


def quoted(app) -> bool:
    return len(app.board) > 0 and all(row.quote is not None for row in app.board)


def tab_line(app) -> str:
    return screen_text(app).splitlines()[0]


async def new_list(pilot, name: str, *symbols: SymbolKey) -> None:
    app = pilot.app
    await pilot.press("n")
    assert isinstance(app.screen, ListNameScreen)
    await pilot.press(*name, "enter")
    await wait_for(pilot, lambda: app.lists.shown == name, what=f"the list {name} shown")
    for key in symbols:
        await pilot.press("a", *key.code, "enter")
        await wait_for(pilot, lambda key=key: key in app.board, what=f"{key} added")


async def test_three_lists_made_switched_and_restored_after_a_restart(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        await new_list(pilot, "banks", MUFG, SMFG)
        await pilot.press("s", "s")  # banks: sorted by change
        await new_list(pilot, "tech", SONY)
        await pilot.press("s")  # tech: by code
        assert app.lists.names == ["main", "banks", "tech"]
        assert "main" in tab_line(app) and "banks" in tab_line(app) and "tech" in tab_line(app)
        await pilot.press("left_square_bracket")
        assert app.lists.shown == "banks"
        assert set(app.board.rows) == {MUFG, SMFG} and app.table.sort_mode == "change"
        await pilot.press("left_square_bracket")
        assert app.lists.shown == "main" and list(app.board.rows) == [TOYOTA]
        assert app.table.sort_mode == "added"
        await pilot.press("left_square_bracket")  # round to the last
        assert app.lists.shown == "tech" and list(app.board.rows) == [SONY]
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert app.lists.shown == "banks"
        await pilot.click("#tabs", offset=(tab_line(app).index("tech") + 1, 0))
        assert app.lists.shown == "tech"
        await pilot.click("#tabs", offset=(tab_line(app).index("banks"), 0))
        assert app.lists.shown == "banks"
        assert app.focused is app.table  # the tabs take no focus
    again = make_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(again))
        assert again.lists.names == ["main", "banks", "tech"]
        assert again.lists.shown == "banks"
        assert list(again.board.rows) == [MUFG, SMFG] and again.table.sort_mode == "change"
        assert again.lists.lists["tech"] == Watchlist([SONY], "code")
        assert again.lists.lists["main"] == Watchlist([TOYOTA], "added")
        await wait_for(pilot, lambda: set(again.server.registered) == {"8306@1", "8316@1"})


async def test_switching_lists_registers_and_unregisters_the_difference(tmp_path: Path) -> None:
    store = WatchlistStore(tmp_path / "watchlist.toml")
    lists = Watchlists.single(Watchlist([TOYOTA, KDDI]))
    lists.create("other", Watchlist([KDDI, SONY]))
    assert store.save(lists) is None
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.server.registered == ["7203@1", "9433@1"])
        await pilot.press("right_square_bracket")
        await wait_for(
            pilot, lambda: set(app.server.registered) == {"9433@1", "6758@1"}, what="the difference"
        )
        assert set(app.feed.registry.watched) == {KDDI, SONY}
        await wait_for(pilot, lambda: quoted(app))
        # A pinned symbol (an armed alert's) stays registered off screen, and its quotes are no strays.
        app.feed_control.set_pinned("alerts", [TOYOTA])
        await wait_for(pilot, lambda: "7203@1" in app.server.registered, what="the pinned symbol")
        await wait_for(pilot, lambda: app.board.parked(TOYOTA) is not None)
        # (A quote or two of 7203 may have been on the way while the switch unregistered it.)
        strays, first = app.board.unwatched, app.board.parked(TOYOTA).quote
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= pushed + 30, what="more quotes")
        await wait_for(pilot, lambda: app.board.parked(TOYOTA).quote is not first, what="7203 kept fresh")
        assert app.board.unwatched == strays
        # The status bar counts what the board keeps registered: two on screen and the pinned one.
        app.feed_control.update_status()
        assert "3/50 symbols" in app.status_bar.text
        await pilot.press("left_square_bracket")
        assert list(app.board.rows) == [TOYOTA, KDDI]
        await wait_for(pilot, lambda: set(app.server.registered) == {"7203@1", "9433@1"})


async def test_rows_seen_before_fill_at_once_from_their_last_quotes(tmp_path: Path) -> None:
    store = WatchlistStore(tmp_path / "watchlist.toml")
    lists = Watchlists.single(Watchlist([TOYOTA, KDDI]))
    lists.create("other", Watchlist([SONY]))
    assert store.save(lists) is None
    # Nothing is pushed: a row's quote is either the snapshot fetched for it or the one it had.
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        before = {key: app.board.rows[key].quote for key in (TOYOTA, KDDI)}
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: quoted(app), what="the other list's snapshot")
        await pilot.press("left_square_bracket")
        # Filled on the switch itself, before any request: the very quotes they had.
        assert {key: app.board.rows[key].quote for key in (TOYOTA, KDDI)} == before
        assert all(app.board.rows[key].quote is before[key] for key in before)
        await wait_for(pilot, lambda: set(app.server.registered) >= {"7203@1", "9433@1"})
        await pilot.pause(0.3)
        assert all(app.board.rows[key].quote is before[key] for key in before)  # none fetched again


async def test_a_bad_or_taken_list_name_is_said_and_nothing_is_saved(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        saved = (tmp_path / "watchlist.toml").read_bytes()
        await pilot.press("n", *"MAIN", "enter")
        screen = app.screen
        assert isinstance(screen, ListNameScreen)
        assert "there is already a list named 'MAIN'" in screen.problem
        await pilot.press(*("x" * 30), "enter")
        assert "at most 24 characters" in screen.problem
        await pilot.press("escape")
        assert app.screen is not screen and app.lists.names == ["main"]
        assert (tmp_path / "watchlist.toml").read_bytes() == saved
        assert app.focused is app.table


async def test_rename_and_delete_from_the_command_palette_actions(tmp_path: Path) -> None:
    outcomes = Outcomes()
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE, message_hook=outcomes) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        await new_list(pilot, "tmp", SONY)
        assert {command.title for command in app.get_system_commands(app.screen)} >= {
            "Rename list", "Delete list", "New list",
        }  # fmt: skip
        app.action_rename_list()
        await pilot.pause(0.1)
        await pilot.press(*["backspace"] * 3, *"sony", "enter")
        await wait_for(pilot, lambda: app.lists.names == ["main", "sony"])
        assert "sony" in tab_line(app) and app.lists.shown == "sony"
        data = tomllib.loads((tmp_path / "watchlist.toml").read_text("utf-8"))
        assert data["shown"] == "sony" and data["lists"]["sony"]["symbols"] == ["6758@1"]
        app.action_delete_list()
        await pilot.pause(0.1)
        assert app.lists.names == ["main"] and list(app.board.rows) == [TOYOTA]
        await wait_for(pilot, lambda: app.server.registered == ["7203@1"], what="6758 unregistered")
        # A slip of the palette is undone: the list comes back with its symbols, and goes again.
        assert "Restore list" in {command.title for command in app.get_system_commands(app.screen)}
        app.action_restore_list()
        await pilot.pause(0.1)
        assert app.lists.names == ["main", "sony"] and app.lists.shown == "sony"
        assert list(app.board.rows) == [SONY]
        await wait_for(pilot, lambda: "6758@1" in app.server.registered, what="6758 registered again")
        assert "Restore list" not in {command.title for command in app.get_system_commands(app.screen)}
        app.action_delete_list()
        await pilot.pause(0.1)
        assert app.lists.names == ["main"]
        await wait_for(pilot, lambda: app.server.registered == ["7203@1"], what="6758 unregistered again")
        app.action_delete_list()
        await wait_for(pilot, lambda: "the last list cannot be deleted" in outcomes, what="the refusal")
        data = tomllib.loads((tmp_path / "watchlist.toml").read_text("utf-8"))
        assert list(data["lists"]) == ["main"] and data["lists"]["main"]["symbols"] == ["7203@1"]


async def test_list_option_opens_that_list_making_it_if_new(tmp_path: Path) -> None:
    store = WatchlistStore(tmp_path / "watchlist.toml")
    lists = Watchlists.single(Watchlist([TOYOTA]))
    lists.create("banks", Watchlist([MUFG]))
    assert store.save(lists) is None
    app = make_app(tmp_path, list_name="banks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        assert app.lists.shown == "banks" and list(app.board.rows) == [MUFG]
    app = make_app(tmp_path, list_name="fresh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.lists.names == ["main", "banks", "fresh"] and len(app.board) == 0
        assert "fresh" in tab_line(app)
    loaded = store.load()
    assert loaded.lists.lists["fresh"] == Watchlist()
    assert loaded.lists.shown == "fresh" and loaded.lists.lists["banks"] == Watchlist([MUFG])


async def test_an_old_single_list_file_opens_as_the_list_main(tmp_path: Path) -> None:
    (tmp_path / "watchlist.toml").write_text(
        "# quoteboard's watchlist, rewritten whenever the board's list changes.\n"
        "# symbols: CODE@EXCHANGE in board order. sort: added, code, change or volume.\n"
        'symbols = ["9433@1", "7203@1"]\n'
        'sort = "code"\n',
        "utf-8",
    )
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        assert app.lists.names == ["main"]
        assert set(app.board.rows) == {KDDI, TOYOTA} and app.table.sort_mode == "code"
        assert " main " in tab_line(app)
    data = tomllib.loads((tmp_path / "watchlist.toml").read_text("utf-8"))
    assert data == {"shown": "main", "lists": {"main": {"symbols": ["9433@1", "7203@1"], "sort": "code"}}}


async def test_a_list_past_the_cap_marks_its_extra_rows_and_the_status_bar_says_so(tmp_path: Path) -> None:
    store = WatchlistStore(tmp_path / "watchlist.toml")
    assert store.save(Watchlist([TOYOTA, KDDI, SONY])) is None
    app = make_app(tmp_path, max_symbols=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.server.registered == ["7203@1", "9433@1"])
        assert list(app.board.rows) == [TOYOTA, KDDI, SONY]  # nothing dropped
        assert "over Kabu's limit of 2" in (app.board.rows[SONY].note or "")
        await wait_for(pilot, lambda: "1 not registered (over the limit of 2)" in app.status_bar.text)
        assert any("over Kabu's limit" in line for line in screen_text(app).splitlines())
        await pilot.press("d")  # the highlighted first row goes: the third now fits
        await wait_for(
            pilot, lambda: set(app.server.registered) == {"9433@1", "6758@1"}, what="6758 registered"
        )
        assert app.board.rows[SONY].note is None
        await wait_for(pilot, lambda: "not registered" not in app.status_bar.text)
    assert store.load().watchlist.symbols == [KDDI, SONY]


async def test_the_command_line_list_option_reaches_the_board(tmp_path: Path, monkeypatch) -> None:
    from quoteboard.board.launch import board_app
    from quoteboard.commands.cli import build_parser
    from quoteboard.feeds.source import FeedSource
    from quoteboard.store.watchlist import CONFIG_DIR_ENV

    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    args = build_parser().parse_args(["--demo", "--list", " banks "])
    assert args.list == "banks"
    app = board_app(FeedSource("demo", server=frozen_demo_server), FeedSource.kabu(), symbols=[],
                    list_name=args.list)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.lists.shown == "banks" and app.lists.names == ["main", "banks"]
        assert len(app.board) == 0  # on a first start too: the demo's names go to no list asked for
    assert WatchlistStore(tmp_path / "watchlist.toml").load().lists.shown == "banks"


def test_a_click_finds_its_tab_by_terminal_cells_full_width_names_included() -> None:
    from quoteboard.board.widgets.list_tabs import tab_at, tabs_text

    names = ["main", "長期保有", "b"]
    text = tabs_text(names, "main").plain
    assert text.startswith(" main   長期保有   b ")
    assert [tab_at(names, x) for x in (0, 5, 6, 7, 16, 17, 18, 20, 21)] == [
        "main", "main", None, "長期保有", "長期保有", None, "b", "b", None,
    ]  # fmt: skip


async def test_a_symbol_the_station_refused_stays_marked_when_its_list_comes_back(tmp_path: Path) -> None:
    store = WatchlistStore(tmp_path / "watchlist.toml")
    lists = Watchlists.single(Watchlist([TOYOTA]))
    lists.create("other", Watchlist([KDDI, SymbolKey("1111")]))
    assert store.save(lists) is None
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app))
        await pilot.press("right_square_bracket")
        unknown = SymbolKey("1111")
        await wait_for(pilot, lambda: "4002001" in (app.board.rows[unknown].note or ""), what="the refusal")
        await wait_for(pilot, lambda: app.board.rows[KDDI].quote is not None)
        assert set(app.server.registered) == {"9433@1"}
        await pilot.press("left_square_bracket", "right_square_bracket")
        assert "4002001" in (app.board.rows[unknown].note or "")
        assert list(app.board.rows) == [KDDI, unknown]  # kept on its list
