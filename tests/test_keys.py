"""The board's keys are said once (quoteboard.board.keys): the bindings, the footer, the help screen and
``--help`` all follow that list."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandList, CommandPalette

from quoteboard.board.app import QuoteboardApp
from quoteboard.board.keys import BOARD_KEYS, CHART_KEYS
from quoteboard.board.screen import MainScreen
from quoteboard.board.widgets.chart_screen import ChartScreen
from quoteboard.board.widgets.help_screen import HelpScreen
from quoteboard.commands.cli import build_parser
from tests.app_support import frozen_demo_server, make_app, screen_text, wait_for


def test_every_bound_key_comes_from_the_one_list():
    bound = {(binding.key, binding.action, binding.description) for binding in QuoteboardApp.BINDINGS}  # type: ignore[union-attr]
    listed = {(key.keys, key.action, key.label) for key in BOARD_KEYS if key.action is not None}
    assert bound == listed and len(listed) == 14
    for key in BOARD_KEYS:  # every action a key names exists (screen.NAME on the main screen)
        owner, _, name = (key.action or "").rpartition(".")
        assert key.action is None or hasattr(
            MainScreen if owner == "screen" else QuoteboardApp, f"action_{name}"
        ), key


def test_the_chart_binds_its_keys_from_the_list_and_none_is_a_board_key():
    bound = {(binding.key, binding.action) for binding in ChartScreen.BINDINGS}  # type: ignore[union-attr]
    assert bound == {(key.keys, key.action) for key in CHART_KEYS}
    for key in CHART_KEYS:
        assert key.action is not None and hasattr(ChartScreen, f"action_{key.action.split('(')[0]}"), key
    board_keys = {name for key in BOARD_KEYS for name in key.keys.split(",")}
    chart_keys = {name for key in CHART_KEYS for name in key.keys.split(",")}
    # Escape and c close the chart, as Escape closes the other views and c opened it.
    assert board_keys & chart_keys == {"escape", "c"}


def test_help_lists_every_key_of_the_list():
    text = build_parser().format_help()
    for key in (*BOARD_KEYS, *CHART_KEYS):
        assert f"  {key.display} " in text and key.help in text, key


async def test_the_help_screen_and_the_footer_show_the_list(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: screen_text(app).splitlines()[-1].strip(), what="the footer drawn")
        footer = screen_text(app).splitlines()[-1]
        for key in BOARD_KEYS:
            if key.action is not None and key.show:
                assert key.label in footer, key
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        for key in (*BOARD_KEYS, *CHART_KEYS):  # (a long sentence wraps in the modal: its start is enough)
            assert f"{key.display}  " in shown and key.help[:40] in shown, key


async def test_the_palette_offers_one_keys_command_and_it_opens_the_help_screen(tmp_path: Path):
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=(160, 48)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert sorted(set(titles)) == sorted(titles)
        await pilot.press("ctrl+p", *"Keys")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        hits = palette.query_one(CommandList)

        def titles_shown() -> list[str]:
            return [str(hits.get_option_at_index(i).prompt).splitlines()[0] for i in range(hits.option_count)]

        def searched() -> bool:  # the palette gathers its hits in a worker: wait for the last one
            gathering = CommandPalette._GATHER_COMMANDS_GROUP
            running = any(worker.group == gathering and worker.is_running for worker in app.workers)
            return not running and "Keys" in titles_shown()

        await wait_for(pilot, searched, what="the palette's hits for 'Keys'")
        assert titles_shown().count("Keys") == 1, titles_shown()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
