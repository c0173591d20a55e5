"""``chart_render_ms``: one full redraw of the chart, 200x60, 330 one-minute candles (a whole TSE day).

The candles are a seeded walk; the redraw is the chart widget's own (:func:`chart_strips`: the layout
and a Strip a line), with plain styles in place of the app's CSS. The median of ``rounds`` redraws,
after one to warm up. ``python -m quoteboard.bench.chart`` prints it.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime
from typing import Final

from rich.style import Style

from quoteboard.board.chart_layout import ChartText, Ink
from quoteboard.board.widgets.chart_view import chart_strips
from quoteboard.history.candles import Candle
from quoteboard.kabu.records import JST

__all__ = ["CHART_SIZE", "TARGET_MS", "chart_render_ms", "day_of_candles"]

CHART_SIZE: Final = (200, 60)
CANDLES: Final = 330
TARGET_MS: Final = 15.0
_STYLES: Final[dict[Ink, Style]] = {
    "plain": Style(),
    "up": Style(color="#4EBF71"),
    "down": Style(color="#D2424A"),
    "volume-up": Style(color="#2E7D4F"),
    "volume-down": Style(color="#8E2A30"),
    "vwap": Style(color="#E0E0E0"),
    "previous": Style(color="#808080"),
    "axis": Style(color="#808080"),
    "title": Style(bold=True),
}


def day_of_candles(count: int = CANDLES, seed: int = 1) -> list[Candle]:
    """``count`` one-minute candles of a walk from 2,500 yen, from 09:00 JST, each with a day VWAP."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 25, 9, 0, tzinfo=JST).timestamp()
    price, turnover, volume = 2500.0, 0.0, 0.0
    candles = []
    for minute in range(count):
        open_ = price
        close = round(price + rng.gauss(0, 2) * 2) / 2
        high = max(open_, close) + round(abs(rng.gauss(0, 1)) * 2) / 2
        low = min(open_, close) - round(abs(rng.gauss(0, 1)) * 2) / 2
        traded = rng.randint(100, 50_000)
        turnover += traded * close
        volume += traded
        candles.append(
            Candle(start + 60 * minute, "1m", open_, high, low, close, traded, close, turnover / volume, 10)
        )
        price = close
    return candles


def chart_render_ms(rounds: int = 21) -> float:
    """The median time of one full chart redraw at CHART_SIZE of CANDLES candles, in milliseconds."""
    candles = day_of_candles()
    width, height = CHART_SIZE
    text = ChartText("7203@1  トヨタ自動車  1m", previous_close=2490.0)
    chart_strips(candles, width, height, text, _STYLES.__getitem__)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        chart_strips(candles, width, height, text, _STYLES.__getitem__)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


if __name__ == "__main__":
    print(f"chart_render_ms {chart_render_ms():.2f} (target <= {TARGET_MS:g} ms)")
