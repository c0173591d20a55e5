"""The palettes: the Japanese one's shades (WCAG contrast on the themes, red up and green down), the
locale that makes it the default, and every view following it on the real board against the demo."""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from quoteboard.board.colours import PALETTES, palette_variables
from quoteboard.board.user_locale import default_palette, is_japanese
from quoteboard.board.widgets.depth_view import DepthView
from quoteboard.store.settings import Settings, SettingsStore
from tests.app_support import make_app, wait_for
from tests.test_snapshots import SYMBOLS, frozen_demo_server_with_positions

SIZE = (160, 48)
#: Textual's default themes, one dark and one light.
DEFAULT_THEMES = ("textual-dark", "textual-light")
#: Every built-in theme with colours of its own (the ANSI ones take the terminal's).
THEMES = [name for name in BUILTIN_THEMES if not name.startswith("ansi")]


def luminance(colour: Color) -> float:
    """WCAG 2's relative luminance."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.r) + 0.7152 * linear(colour.g) + 0.0722 * linear(colour.b)


def contrast(one: Color, other: Color) -> float:
    """WCAG 2's contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def theme_colours(name: str) -> tuple[bool, dict[str, Color]]:
    theme = BUILTIN_THEMES[name]
    variables = theme.to_color_system().generate()
    return theme.dark, {where: Color.parse(variables[where]) for where in ("background", "surface")}


@pytest.mark.parametrize("theme", DEFAULT_THEMES)
def test_the_japanese_shades_read_on_the_default_themes(theme: str) -> None:
    dark, grounds = theme_colours(theme)
    shades = {name: Color.parse(value) for name, value in palette_variables("japanese", {}, dark).items()}
    for where, ground in grounds.items():
        # Text at WCAG AA's 4.5:1; the sparkline (drawn in the background shades) at 3:1, as graphics.
        assert contrast(shades["quote-up-text"], ground) >= 4.5, where
        assert contrast(shades["quote-down-text"], ground) >= 4.5, where
        assert contrast(shades["quote-up"], ground) >= 3, where
        assert contrast(shades["quote-down"], ground) >= 3, where
        # A flash: the shade at 70 % over the ground, under `$text` (Textual's "auto 87%").
        for shade in (shades["quote-up"], shades["quote-down"]):
            flash = ground.blend(shade, 0.7)
            assert contrast(flash + flash.get_contrast_text(0.87), flash) >= 4.5, where


@pytest.mark.parametrize("theme", THEMES)
def test_the_japanese_text_stays_readable_on_every_built_in_theme(theme: str) -> None:
    # Some dark themes' surfaces are mid-grey: 3:1 (AA for bold text) is what a red that still reads
    # as red gets there.
    dark, grounds = theme_colours(theme)
    variables = palette_variables("japanese", {}, dark)
    for where, ground in grounds.items():
        for name in ("quote-up-text", "quote-down-text"):
            assert contrast(Color.parse(variables[name]), ground) >= 3, (where, name)


def hue(value: str) -> float:
    """The hue of ``value`` in degrees."""
    colour = Color.parse(value)
    return 360 * colorsys.rgb_to_hls(colour.r / 255, colour.g / 255, colour.b / 255)[0]


@pytest.mark.parametrize("dark", [True, False])
def test_the_japanese_palette_draws_a_rise_in_red_and_a_fall_in_green(dark: bool) -> None:
    variables = palette_variables("japanese", {}, dark)
    for name in ("quote-up", "quote-up-text"):
        assert hue(variables[name]) < 15 or hue(variables[name]) > 345, name
    for name in ("quote-down", "quote-down-text"):
        assert 90 < hue(variables[name]) < 150, name


# -- the locale ------------------------------------------------------------------------------------

JA_UI, EN_UI = 0x0411, 0x0409


@pytest.mark.parametrize(
    ("environ", "platform", "locale_name", "ui_language", "japanese"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "linux", None, None, True),
        ({"LANG": "ja_JP.eucJP"}, "darwin", "en_US", None, True),
        ({"LANG": "en_US.UTF-8"}, "linux", "ja_JP", None, False),
        ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "linux", None, None, False),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, "linux", None, None, True),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "linux", None, None, True),
        ({"LC_ALL": "", "LANG": "ja"}, "linux", None, None, True),  # empty counts as unset
        ({"LANG": "C.UTF-8"}, "linux", "ja_JP", None, False),
        ({}, "linux", "ja_JP", None, True),
        ({}, "linux", None, JA_UI, False),  # a LANGID means nothing off Windows
        ({}, "linux", None, None, False),
        ({}, "win32", "English_United States", JA_UI, True),
        ({}, "win32", "Japanese_Japan", EN_UI, False),  # the UI language says what the user reads
        ({}, "win32", "Japanese_Japan", None, True),
        ({}, "win32", "ja_JP", None, True),
        ({}, "win32", "English_United Kingdom", None, False),
        ({"LANG": "ja_JP.UTF-8"}, "win32", None, EN_UI, True),  # MSYS's shells set LANG
    ],
)
def test_a_japanese_locale_is_told_on_each_platform(
    environ: dict[str, str], platform: str, locale_name: str | None, ui_language: int | None, japanese: bool
) -> None:
    got = is_japanese(environ, platform=platform, locale_name=locale_name, ui_language=ui_language)
    assert got is japanese


def test_the_default_palette_follows_this_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    assert default_palette() == "japanese"
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert default_palette() == "theme"


# -- the board -------------------------------------------------------------------------------------

SIGNED = re.compile(r"[+-][\d,]+(?:\.\d+)?%?")


def signed_colours(app, widget) -> dict[str, set[str]]:
    """The colours the screen shows ``widget``'s signed numbers in, by sign ("+", "-")."""
    region = widget.region
    colours: dict[str, set[str]] = {"+": set(), "-": set()}
    for strip in app.screen._compositor.render_strips()[region.y : region.bottom]:
        for segment in strip.crop(region.x, region.right):
            for number in SIGNED.findall(segment.text):
                if number.strip("+-0.,%"):  # +0.0 is neither up nor down
                    colour = segment.style.color if segment.style else None
                    colours[number[0]].add(colour.triplet.hex.upper() if colour and colour.triplet else "")
    return colours


def hex_of(style) -> str:
    return style.color.triplet.hex.upper()


def is_red(colour) -> bool:
    return colour.red > 2 * max(colour.green, colour.blue)


def is_green(colour) -> bool:
    return colour.green > 1.5 * max(colour.red, colour.blue)


async def test_under_the_japanese_palette_every_view_draws_rises_red_and_falls_green(tmp_path: Path) -> None:
    # The frozen market: rises and falls on the board and in the positions, the same every run.
    app = make_app(
        tmp_path, demo_server=frozen_demo_server_with_positions, symbols=SYMBOLS, palette="japanese"
    )
    view = app.positions_view
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        await pilot.pause(0.2)
        for dark, theme in ((True, "textual-dark"), (False, "textual-light")):
            app.theme = theme
            await pilot.pause(0.2)
            shades = {name: value.upper() for name, value in palette_variables("japanese", {}, dark).items()}
            up, down = shades["quote-up-text"], shades["quote-down-text"]
            # The table's change cells, as the screen shows them (both signs are on the demo board).
            assert signed_colours(app, app.table) == {"+": {up}, "-": {down}}, theme
            # The Last cell's flash, the book (bids as up, asks as down) and the sparkline.
            assert is_red(app.table._style("flash-up").bgcolor.triplet)
            assert is_green(app.table._style("flash-down").bgcolor.triplet)
            depth = app.panel.query_one(DepthView)
            assert (hex_of(depth._style("bid")), hex_of(depth._style("ask"))) == (up, down)
            assert hex_of(depth._style("up")) == shades["quote-up"]
            assert hex_of(depth._style("down")) == shades["quote-down"]
            # The positions' P&L (the demo holds winners and losers).
            await pilot.press("p")
            await wait_for(pilot, lambda: view.loads and not view.book.unpriced, what="positions priced")
            await pilot.pause(0.2)
            assert signed_colours(app, view) == {"+": {up}, "-": {down}}, theme
            await pilot.press("p")
            await pilot.pause(0.1)


def setting_palette(tmp_path: Path) -> Settings:
    settings, message = SettingsStore(tmp_path / "settings.toml").load()
    assert message is None
    return settings


async def test_the_locale_palette_is_the_default_and_a_saved_one_wins(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.toml")
    app = make_app(tmp_path, settings=store, palette="japanese")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert app.palette == "japanese"
        red = palette_variables("japanese", {}, app.current_theme.dark)["quote-up-text"].upper()
        assert hex_of(app.table._style("up")) == red
        await pilot.press("ctrl+p", *"theme palette", "enter")
        await wait_for(pilot, lambda: app.palette == "theme", what="the theme's palette chosen")
        assert hex_of(app.table._style("up")) != red
    assert setting_palette(tmp_path) == Settings("theme")

    # The locale still says Japanese; the saved choice is what the board starts with.
    again = make_app(tmp_path, settings=store, palette="japanese")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert again.palette == "theme"
        await pilot.press("ctrl+p", *"japanese", "enter")
        await wait_for(pilot, lambda: again.palette == "japanese", what="the Japanese palette chosen")
        assert hex_of(again.table._style("up")) == red
    assert setting_palette(tmp_path) == Settings("japanese")
    assert 'palette = "japanese"' in (tmp_path / "settings.toml").read_text(encoding="utf-8")


def test_every_palette_is_a_setting_that_survives_the_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.toml")
    assert store.load() == (Settings(None), None)  # no file: no choice, the locale decides
    for palette in PALETTES:
        assert store.save(Settings(palette)) is None
        assert store.load() == (Settings(palette), None)


@pytest.mark.parametrize(("lang", "palette"), [("ja_JP.UTF-8", "japanese"), ("en_US.UTF-8", "theme")])
def test_the_board_the_command_line_starts_takes_the_locale_palette(
    monkeypatch: pytest.MonkeyPatch, lang: str, palette: str
) -> None:
    from quoteboard.board.launch import board_app
    from quoteboard.feeds.source import FeedSource

    monkeypatch.setenv("LC_ALL", lang)
    # A replay's board: it touches no saved file, which would otherwise say what the palette is.
    app = board_app(FeedSource("demo"), FeedSource.kabu(), symbols=[], recorded=[])
    assert app.palette == palette


def test_help_names_every_palette() -> None:
    from quoteboard.commands.cli import keys_help

    text = keys_help().lower()  # --help's epilog, the help screen's lines
    assert all(palette in text for palette in PALETTES)


async def test_the_command_palette_offers_every_palette_and_marks_the_one_in_use(tmp_path: Path) -> None:
    app = make_app(tmp_path, palette="colour-blind")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        titles = [command.title for command in app.get_system_commands(app.screen)]
    assert [title for title in titles if "palette" in title and "Command" not in title] == [
        "Theme palette",
        "Japanese palette",
        "Colour-blind palette (in use)",
    ]
