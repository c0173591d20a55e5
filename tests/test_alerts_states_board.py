"""The state alerts on the board (``limit-up``, ``limit-down``, ``special``, ``open``), against the
embedded test station holding a stock in a state (``POST /serve/fault`` ``"state"``): each fires once,
on the quote that brings its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.alerts.book import parse_rule
from tests.app_support import make_app, wait_for
from tests.test_marks_board import SIZE, TOYOTA, hold, limits_known


@pytest.mark.parametrize(
    ("rule", "held"),
    [("special", "special"), ("limit-up", "limit-up"), ("limit-down", "limit-down"), ("open", "none")],
)
async def test_a_state_alert_fires_once_on_the_quote_that_brings_its_state(
    tmp_path: Path, rule: str, held: str
) -> None:
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: limits_known(app, TOYOTA), what="the day's limits of 7203")
        if rule == "open":  # the board sees the pre-open first, then the open
            await hold(app, "pre-open")
            await wait_for(pilot, lambda: app.board.rows[TOYOTA].quote.open is None, what="the pre-open")
        app.alerts.add(TOYOTA, parse_rule(rule))
        [alert] = app.alerts.book.of(TOYOTA)
        seen = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= seen + 3, what="more quotes")
        assert alert.armed  # nothing brought its state yet
        await hold(app, held)
        await wait_for(pilot, lambda: not alert.armed, what=f"the {rule} alert to fire")
        notified = lambda: [n.message for n in app._notifications if n.title == "alert"]  # noqa: E731
        await wait_for(pilot, notified, what="its notification")  # (a message, handled on a later turn)
        said = notified()
        assert len(said) == 1 and f"\n{rule} at " in said[0]
        if rule == "limit-up":
            assert alert.fired_price == app.facts.limits(TOYOTA).upper
        # Once: the state goes on, and so do the quotes, and nothing more fires.
        seen = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= seen + 3, what="more quotes")
        assert len([n for n in app._notifications if n.title == "alert"]) == 1
