"""The board's state on each row, against the embedded test station: each state it is told to hold
(``POST /serve/fault`` ``"state"``) is pushed, and the row shows its mark beside the price, the panel
says it in words, and the help screen has the legend."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from quoteboard.board.widgets.help_screen import HelpScreen
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.state import (
    AUCTION,
    CAUTION,
    CONTINUOUS,
    HALT,
    LEGEND,
    LIMIT_DOWN,
    LIMIT_UP,
    PRE_OPEN,
    SPECIAL,
)
from tests.app_support import frozen_demo_server, make_app, screen_text, table_lines, wait_for

SIZE = (160, 48)
TOYOTA = SymbolKey("7203")


async def hold(app, state: str, symbol: str = "7203@1") -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{app.server.control_url}/fault", json={"fault": "state", "symbol": symbol, "state": state}
        )
    assert answer.status_code == 200, answer.text


def row_line(app, key: SymbolKey) -> str:
    return next(line for line in table_lines(app)[1:] if line.startswith(str(key)))


def limits_known(app, key: SymbolKey) -> bool:
    return app.facts.limits(key) is not None


@pytest.mark.parametrize(
    ("held", "state"),
    [
        ("special", SPECIAL),
        ("caution", CAUTION),
        ("pre-open", PRE_OPEN),
        ("halt", HALT),
        ("continuous", CONTINUOUS),
        ("auction", AUCTION),
        ("limit-up", LIMIT_UP),
        ("limit-down", LIMIT_DOWN),
    ],
)
async def test_each_pushed_state_shows_its_mark_beside_the_price_and_its_words(
    tmp_path: Path, held: str, state
) -> None:
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: limits_known(app, TOYOTA), what="the day's limits of 7203")
        assert "St" in table_lines(app)[0].split()
        await hold(app, held)
        await wait_for(
            pilot, lambda: f" {state.mark} " in row_line(app, TOYOTA) + " ", what=f"the mark {state.mark}"
        )
        line = row_line(app, TOYOTA)
        quote = app.board.rows[TOYOTA].quote
        if held == "pre-open":  # no trade: the price the quotes meet at, muted
            assert quote.last is None and f"{quote.bid:,.1f} {state.mark}" in line
        else:
            assert f"{quote.last:,.1f} {state.mark}" in line  # beside the price
        await wait_for(pilot, lambda: state.words in app.panel.query_one("#depth").text, what="the words")
        if held == "pre-open":
            assert "indic." in app.panel.query_one("#depth").text
        await hold(app, "none")
        await wait_for(pilot, lambda: f" {state.mark}" not in row_line(app, TOYOTA), what="the mark to go")


async def test_the_help_screen_has_the_legend_of_every_mark(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        app.screen.query_one("#help-marks").scroll_visible(animate=False)
        await pilot.pause(0.2)
        shown = screen_text(app)
        for state in LEGEND:
            assert f"{state.mark}  " in shown and state.words[:30] in shown, state


async def test_limits_that_cannot_be_read_are_said_in_the_panel(tmp_path: Path) -> None:
    """The station logged out (every REST call refused): the day's limits of a symbol asked for then
    are not known, and the panel says why in one line under the name."""
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: limits_known(app, TOYOTA), what="the day's limits of 7203")
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{app.server.control_url}/fault", json={"fault": "logout", "seconds": 30}
            )
        assert answer.status_code == 200
        app.facts.forget()  # as on a new day: asked again, now refused
        app.board.mark_dirty(TOYOTA)
        await wait_for(pilot, lambda: TOYOTA in app.facts.failures, what="the refusal")
        assert app.facts.limits(TOYOTA) is None
        depth = app.panel.query_one("#depth")
        await wait_for(pilot, lambda: "limits not known" in depth.text, what="the panel's note")
        [line] = [line for line in depth.text.splitlines() if "limits not known" in line]
        assert "4001007" in line and "Traceback" not in depth.text
