"""Snapshots of the alert views on the frozen demo market: the alert input with a refused rule, and
the panel listing a row's alerts (one armed, one fired) with the row marked."""

from __future__ import annotations

from pathlib import Path

from quoteboard.alerts.book import AlertStore
from tests.app_support import frozen_demo_server, make_app, wait_for
from tests.test_snapshots import SIZE, SYMBOLS, card_read, fixed_clock, settled

__all__ = ["fixed_clock"]  # the autouse fixture, used here too

ALERTS = """\
[[alerts]]
symbol = "7203@1"
rule = ">99999"

[[alerts]]
symbol = "7203@1"
rule = "-3%"
fired_price = 2650.5
fired_at = "2026-11-25T14:59:58+09:00"
"""


def board_with_alerts(tmp_path: Path):
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text(ALERTS, encoding="utf-8")
    return make_app(tmp_path, demo_server=frozen_demo_server, symbols=SYMBOLS, alerts=store)


def test_the_panel_lists_the_rows_alerts_and_the_fired_row_is_marked(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(board_with_alerts(tmp_path), terminal_size=SIZE, run_before=settled)


def test_the_alert_input_says_what_is_wrong(snap_compare, tmp_path: Path) -> None:
    async def bad_rule(pilot) -> None:
        await settled(pilot)
        await pilot.press("exclamation_mark", *"1750", "enter")
        await wait_for(pilot, lambda: card_read(pilot.app), what="the card")
        await pilot.pause(0.2)

    assert snap_compare(board_with_alerts(tmp_path), terminal_size=SIZE, run_before=bad_rule)
