"""Snapshots of the chart screen on the frozen demo market: Toyota's day in one-minute candles at
160x48, and five-minute ones at 80x24 (the morning synthesized from 09:00, the market made at 15:00)."""

from __future__ import annotations

from pathlib import Path

from quoteboard.board.widgets.chart_screen import ChartScreen
from tests.app_support import wait_for
from tests.test_snapshots import SIZE, fixed_clock, frozen_board, settled

__all__ = ["fixed_clock"]  # the autouse fixture, used here too


async def chart_shown(pilot, *keys: str) -> None:
    await settled(pilot)
    await pilot.press("c", *keys)
    app = pilot.app
    shown = lambda: isinstance(app.screen, ChartScreen) and app.screen.candles  # noqa: E731
    await wait_for(pilot, shown, what="the chart")
    await pilot.pause(0.4)


def test_the_chart_of_the_highlighted_row(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(frozen_board(tmp_path), terminal_size=SIZE, run_before=chart_shown)


def test_the_chart_at_80x24_in_five_minute_candles(snap_compare, tmp_path: Path) -> None:
    async def five_minutes(pilot) -> None:
        await chart_shown(pilot, "2")

    assert snap_compare(frozen_board(tmp_path), terminal_size=(80, 24), run_before=five_minutes)
