"""The symbol card in the panel: the highlighted row's unit, tick, limits, margin flags, primary
exchange and regulations, as the test station answers them; read once a day, never costing a
registration slot, and its failures said in words."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import msgspec
import pytest

from quoteboard.board.controllers import card as card_controller
from quoteboard.board.controllers.card import NOT_REGISTERED, REFUSED
from quoteboard.board.widgets.columns import format_price
from quoteboard.board.widgets.symbol_card import READING
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ticks import tick_size
from tests.app_support import frozen_demo_server, make_app, screen_text, wait_for

SYMBOLS = [SymbolKey(code) for code in ("7203", "9984", "7201")]


def card_of(app, key: SymbolKey):
    """The card's facts once every part of ``key``'s has come in (None before; a row still on its
    way to registration waits for it, then its /symbol is read)."""
    facts = app.panel.card.facts
    done = facts is not None and facts.key == key and not facts.reading and facts.symbol != NOT_REGISTERED
    return facts if done else None


async def highlight(pilot, key: SymbolKey) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="every row quoted")
    app.table.move_cursor_to(key)
    await wait_for(pilot, lambda: card_of(app, key) and key == app.table.cursor_key, what=f"{key}'s card")


async def station_answers(app, key: SymbolKey) -> tuple[dict, dict, dict]:
    async with httpx.AsyncClient(base_url=app.server.base_url) as client:
        client.headers["X-API-KEY"] = (await client.post("/token", json={"APIPassword": "x"})).json()["Token"]
        symbol = (await client.get(f"/symbol/{key}")).json()
        primary = (await client.get(f"/primaryexchange/{key.code}")).json()
        regulations = (await client.get(f"/regulations/{key}")).json()
    return symbol, primary, regulations


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_card_says_what_the_station_answers(tmp_path: Path, size) -> None:
    key = SymbolKey("9984")
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=size) as pilot:
        await highlight(pilot, key)
        await pilot.pause(0.1)
        symbol, primary, regulations = await station_answers(app, key)
        text, shown = app.panel.card.text, screen_text(app)
        last = app.board.rows[key].quote.last
        tick = tick_size(symbol["PriceRangeGroup"], last)
        assert f"unit {symbol['TradingUnit']:.0f} shares" in text
        assert f"tick {tick:.0f} at {format_price(last)}" in text
        assert f"limits {format_price(symbol['LowerLimit'])} – {format_price(symbol['UpperLimit'])}" in text
        assert symbol["MarginBuy"] and not symbol["MarginSell"] and symbol["KCMarginSell"]
        assert "margin standard buy only, general buy and sell" in text
        assert primary["PrimaryExchange"] == 1 and "primary TSE" in text
        for item in regulations["RegulationsInfo"]:
            assert item["Reason"] in text
            assert f"{item['LimitStartDay'][:10]}–{item['LimitEndDay'][:10]}" in text
        assert "buy, delivery in (TSE) · refused" in text
        assert "sell, new standard margin (all markets) · refused" in text
        # On screen whole, at either size: the panel beside the table or under it.
        for part in ("100 shares", format_price(symbol["UpperLimit"]), "TSE", "standard buy only"):
            assert part in shown, part


async def test_a_short_selling_restriction_and_a_symbol_without_any(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(160, 48)) as pilot:
        await highlight(pilot, SymbolKey("7201"))
        assert "rules sell, new (all markets) 空売り規制" in app.panel.card.text
        await highlight(pilot, SymbolKey("7203"))
        assert "rules none" in app.panel.card.text
        assert "margin buy and sell, standard and general" in app.panel.card.text


async def test_each_answer_is_read_once_and_the_tick_follows_the_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    for name in ("symbol_facts", "primary_exchange", "regulations"):
        real = getattr(KabuFeed, name)

        async def spy(self, arg, _real=real, _name=name):
            asked.append(f"{_name} {arg}")
            return await _real(self, arg)

        monkeypatch.setattr(KabuFeed, name, spy)
    key = SymbolKey("9984")
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(160, 48)) as pilot:
        await highlight(pilot, key)
        await highlight(pilot, SymbolKey("7203"))
        app.table.move_cursor_to(key)
        await pilot.pause(0.5)  # more than the card waits before it asks
        assert card_of(app, key) is not None
        # /symbol once a day for every quoted row (the board's state marks read its limits, the card
        # the rest of it); the other two only for the two cards shown.
        await wait_for(pilot, lambda: len(asked) == 7, what="/symbol of the third row")
        assert sorted(asked) == sorted(
            ["symbol_facts 9984@1", "primary_exchange 9984", "regulations 9984@1",
             "symbol_facts 7203@1", "primary_exchange 7203", "regulations 7203@1",
             "symbol_facts 7201@1"]
        )  # fmt: skip
        # A price in another band of the tick table: the tick at it, without asking again.
        quote = app.board.rows[key].quote
        app.board.apply(msgspec.structs.replace(quote, last=999.0))
        app.panel.card.follow(app.board.rows[key])
        assert "tick 0.1 at 999.0" in app.panel.card.text
        assert len(asked) == 7


async def test_the_card_says_reading_and_a_highlight_passing_by_asks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    async def spy(self, arg):
        asked.append(str(arg))
        raise AssertionError("asked")

    for name in ("primary_exchange", "regulations"):  # (/symbol: every quoted row's, for its marks)
        monkeypatch.setattr(KabuFeed, name, spy)
    monkeypatch.setattr(card_controller, "SETTLE_SECONDS", 60.0)  # the highlight never rests here
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        await pilot.press("down", "down", "up")
        await wait_for(pilot, lambda: app.panel.card.key == SymbolKey("9984"), what="the card of 9984")
        # (its /symbol part may be held already: the marks read it for every quoted row)
        facts = app.panel.card.facts
        assert facts.primary == READING and facts.regulations == READING
        assert "reading…" in app.panel.card.text and "reading…" in screen_text(app)
        assert asked == []


async def test_a_row_past_the_cap_costs_no_registration_slot(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS, max_symbols=2)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: len(app.server.registered) == 2, what="two registered")
        over = SymbolKey("7201")
        app.table.move_cursor_to(over)

        def waiting() -> bool:
            facts = app.panel.card.facts
            return facts is not None and facts.key == over and facts.primary != READING

        await wait_for(pilot, waiting, what="the primary exchange of the row past the cap")
        await wait_for(pilot, lambda: app.panel.card.facts.regulations != READING, what="its regulations")
        await pilot.pause(0.6)  # the card looks again for the registration meanwhile
        assert app.panel.card.facts.symbol == NOT_REGISTERED
        assert NOT_REGISTERED in app.panel.card.text and "空売り規制" in app.panel.card.text
        assert "7201@1" not in app.server.registered and len(app.server.registered) == 2


async def test_a_symbol_the_station_does_not_know_is_said_in_words(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=[*SYMBOLS, SymbolKey("1111")])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.board.rows[SymbolKey("1111")].note, what="1111 refused")
        unknown = SymbolKey("1111")
        app.table.move_cursor_to(unknown)

        def answered() -> bool:
            facts = app.panel.card.facts
            return (
                facts is not None
                and facts.key == unknown
                and READING not in (facts.primary, facts.regulations)
            )

        await wait_for(pilot, answered, what="the card's answers")
        text = app.panel.card.text
        assert "primary 4002001 no such symbol (銘柄が見つからない)" in text
        assert "rules 4002001 no such symbol" in text
        assert f"symbol {REFUSED}" in text  # /symbol not asked: it would register it
        await pilot.pause(0.6)
        assert "1111@1" not in app.server.registered


def drawn_colour(card, text: str) -> str:
    """The colour ``text`` is drawn in on the card, as #RRGGBB."""
    for y in range(card.size.height):
        for segment in card.render_line(y):
            if segment.text.strip() == text and segment.style and segment.style.color:
                return segment.style.color.triplet.hex.upper()
    raise AssertionError(f"{text!r} not drawn on the card")


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_limits_are_drawn_in_the_palettes_up_and_down_colours(tmp_path: Path, size) -> None:
    key = SymbolKey("7203")
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=size) as pilot:
        await highlight(pilot, key)
        await pilot.pause(0.1)
        symbol = app.panel.card.facts.symbol
        lower, upper = format_price(symbol.lower_limit), format_price(symbol.upper_limit)
        for palette in ("theme", "colour-blind", "theme"):
            if app.palette != palette:
                app.set_palette(palette, save=False)
                await pilot.pause(0.1)
            variables = app.get_css_variables()
            assert drawn_colour(app.panel.card, upper) == variables["quote-up-text"].upper()
            assert drawn_colour(app.panel.card, lower) == variables["quote-down-text"].upper()


async def test_the_card_takes_the_lines_its_tick_needs_as_the_price_comes_and_goes(tmp_path: Path) -> None:
    """At 80x24 the card's first line wraps while the tick waits for a price, and fits once it has
    one: its height follows (a line left blank under it, or one cut off, otherwise)."""
    key = SymbolKey("7203")
    app = make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS)
    async with app.run_test(size=(80, 24)) as pilot:
        await highlight(pilot, key)
        card, row = app.panel.card, app.board.rows[key]
        await wait_for(pilot, lambda: card.region.height == 3, what="three lines with a price")
        unpriced = msgspec.structs.replace(row.quote, last=None, prev_close=None)
        card.follow(SimpleNamespace(key=key, quote=unpriced))  # (what follow reads of a row)
        assert "no price yet" in card.text
        await wait_for(pilot, lambda: card.region.height == 4, what="the first line wrapped")
        card.follow(row)
        await wait_for(pilot, lambda: card.region.height == 3, what="three lines again")
