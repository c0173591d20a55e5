"""The chart benchmark measures what it says: a full 200x60 redraw of a day of 330 candles."""

from __future__ import annotations

import itertools

from quoteboard.bench.chart import _STYLES, CHART_SIZE, chart_render_ms, day_of_candles
from quoteboard.board.chart_layout import ChartText
from quoteboard.board.widgets.chart_view import chart_strips


def test_the_benchmark_day_is_330_minutes_that_all_agree():
    candles = day_of_candles()
    assert len(candles) == 330
    assert all(b.start - a.start == 60 for a, b in itertools.pairwise(candles))
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in candles)


def test_the_redraw_measured_is_a_whole_200x60_chart():
    width, height = CHART_SIZE
    strips = chart_strips(day_of_candles(), width, height, ChartText("x", 2490.0), _STYLES.__getitem__)
    assert len(strips) == height and {strip.cell_length for strip in strips} == {width}
    # A candle in every column but the price axis's: every column has its volume bar.
    bottom = strips[-2].text.rstrip()
    assert len(bottom) > width - 10 and " " not in bottom
    assert chart_render_ms(rounds=3) > 0
