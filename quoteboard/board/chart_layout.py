"""The chart's picture as text: candles, volume bars, the previous close and VWAP lines, the axes.

Pure functions, no Textual: :func:`draw_chart` turns candles and a size into rows of ``(text, ink)``
runs, where ``ink`` names what a run is (an up candle, the price axis...) and the widget maps each
name to a style from the CSS variables. Prices map to half rows: a candle's body ends on a half
block (``▀`` ``▄``) when it ends mid-cell, so a chart of 40 rows tells 80 price levels apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Final, Literal

from rich.cells import cell_len

from quoteboard.history.candles import INTERVAL_SECONDS, Candle, Interval, bucket_start
from quoteboard.kabu.records import JST

__all__ = [
    "ChartText",
    "Ink",
    "Scale",
    "candle_cells",
    "draw_chart",
    "nice_step",
    "price_label",
    "price_text",
    "price_ticks",
    "time_label",
    "volume_cells",
]

Ink = Literal["plain", "up", "down", "volume-up", "volume-down", "vwap", "previous", "axis", "title"]
Run = tuple[str, Ink]

FULL: Final = "█"
UPPER: Final = "▀"
LOWER: Final = "▄"
WICK: Final = "│"
WICK_UPPER: Final = "╵"  # the wick in the cell's upper half only
WICK_LOWER: Final = "╷"
PREVIOUS_LINE: Final = "╌"
VWAP_LINE: Final = "─"
#: Columns between time labels at least ("HH:MM" and a space or more).
LABEL_GAP: Final = 7
_JST_SECONDS: Final = 9 * 3600
#: Units the time axis may label by, finest first.
_TIME_UNITS: Final = (60, 300, 900, 1800, 3600, 7200, 14400, 86400, 7 * 86400, 28 * 86400)


@dataclass(frozen=True, slots=True)
class Scale:
    """Prices ``low``..``high`` over ``rows`` rows of two half rows each (half row 0 at the bottom)."""

    low: float
    high: float
    rows: int

    def half(self, price: float) -> int:
        """The half row of ``price``, clamped into the chart."""
        top = 2 * self.rows - 1
        if self.high <= self.low:
            return top // 2
        return min(top, max(0, round((price - self.low) / (self.high - self.low) * top)))

    def row(self, price: float) -> int:
        """The row of ``price`` counted from the top (row 0 is the highest price)."""
        return self.rows - 1 - self.half(price) // 2


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts ``span`` into about ``count`` parts."""
    if span <= 0 or count < 1:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)


def price_ticks(low: float, high: float, count: int) -> list[float]:
    """Round prices between ``low`` and ``high`` for about ``count`` axis labels."""
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9) * step
    ticks: list[float] = []
    price = first
    while price <= high + 1e-9 and len(ticks) < 1000:
        ticks.append(round(price, 6))
        price += step
    return ticks


def price_label(price: float, step: float) -> str:
    """``price`` with thousands separators and as many decimals as ``step`` needs (12,345 or 1,234.5)."""
    decimals = 0 if step >= 1 else min(4, math.ceil(-math.log10(step) - 1e-9))
    return f"{price:,.{decimals}f}"


def price_text(price: float) -> str:
    """A traded price with thousands separators, its decimals only if it has any (2,748 or 2,748.5)."""
    return f"{price:,.1f}" if price % 1 else f"{price:,.0f}"


def time_label(epoch: float, interval: Interval) -> str:
    """A candle's start as the time axis writes it, in JST: 09:30, or 11/25 for daily candles."""
    moment = datetime.fromtimestamp(epoch, JST)
    return f"{moment:%m/%d}" if interval == "1d" else f"{moment:%H:%M}"


def candle_cells(candle: Candle, scale: Scale) -> tuple[int, list[str]]:
    """The glyphs of ``candle`` from its top row down: (the top row, the glyphs)."""
    wick_top, wick_bottom = scale.half(candle.high), scale.half(candle.low)
    body_top = scale.half(max(candle.open, candle.close))
    body_bottom = scale.half(min(candle.open, candle.close))
    first_row = scale.rows - 1 - wick_top // 2
    last_row = scale.rows - 1 - wick_bottom // 2
    cells = []
    for row in range(first_row, last_row + 1):
        upper = 2 * (scale.rows - 1 - row) + 1  # the half rows of this cell
        lower = upper - 1
        body_upper = body_bottom <= upper <= body_top
        body_lower = body_bottom <= lower <= body_top
        if body_upper and body_lower:
            cells.append(FULL)
        elif body_upper:
            cells.append(UPPER)
        elif body_lower:
            cells.append(LOWER)
        else:
            wick_upper = wick_bottom <= upper <= wick_top
            wick_lower = wick_bottom <= lower <= wick_top
            cells.append(WICK if wick_upper and wick_lower else WICK_UPPER if wick_upper else WICK_LOWER)
    return first_row, cells


def volume_cells(volume: float, most: float, rows: int) -> list[str]:
    """A volume bar over ``rows`` rows, top row first, in half rows (at least a half row if any traded)."""
    halves = 0 if most <= 0 or volume <= 0 else max(1, round(volume / most * 2 * rows))
    cells = []
    for row in range(rows):
        from_bottom = rows - 1 - row
        filled = halves - 2 * from_bottom
        cells.append(FULL if filled >= 2 else LOWER if filled == 1 else " ")
    return cells


def _time_labels(candles: Sequence[Candle], interval: Interval, step: int) -> list[tuple[int, str]]:
    """(column, label) along the time axis: the first candle, then each new unit's first candle."""
    if not candles:
        return []
    seconds = INTERVAL_SECONDS[interval]
    unit = next(
        (unit for unit in _TIME_UNITS if unit >= seconds and unit // seconds * step >= LABEL_GAP),
        _TIME_UNITS[-1],
    )
    labels: list[tuple[int, str]] = []
    free_from = 0
    previous: float | None = None
    for index, candle in enumerate(candles):
        # Units on the JST clock: a 2-hour label falls on 10:00 and 12:00 JST, not on UTC's even hours.
        bucket = bucket_start(candle.start, "1d") if unit >= 86400 else (candle.start + _JST_SECONDS) // unit
        if bucket != previous and index * step >= free_from:
            text = time_label(candle.start, interval)
            labels.append((index * step, text))
            free_from = index * step + len(text) + 1
        previous = bucket
    return labels


@dataclass(frozen=True, slots=True)
class ChartText:
    """What goes round the candles: the title line's text and the previous close, if known."""

    title: str = ""
    previous_close: float | None = None


def draw_chart(
    candles: Sequence[Candle], width: int, height: int, text: ChartText = ChartText()
) -> list[list[Run]]:
    """The chart as ``height`` rows of runs, each row ``width`` cells: the title, the price area
    with its axis on the right, the volume bars, the time axis. The latest candles that fit are shown."""
    if width <= 0 or height <= 0:
        return []
    title = _fit(text.title, width)
    if height < 4:
        blank: list[Run] = [(" " * width, "plain")]
        return [[(title, "title")], *([blank] * (height - 1))]
    volume_rows = max(1, (height - 2) // 5)
    price_rows = height - 2 - volume_rows
    interval: Interval = candles[0].interval if candles else "1m"
    # The axis is as wide as its widest label; labels come from the prices of the candles that fit,
    # so the width is found from all the candles first (a label only narrows as fewer are shown).
    low, high = _price_range(candles, text.previous_close)
    ticks = price_ticks(low, high, max(2, price_rows // 4))
    step_price = nice_step(high - low, max(2, price_rows // 4))
    widest = [len(price_label(tick, step_price)) for tick in ticks]
    if text.previous_close is not None:
        widest.append(len(price_text(text.previous_close)))
    axis_width = 1 + max(widest, default=0)
    area = max(1, width - axis_width)
    step = 2 if len(candles) * 2 <= area else 1
    shown = list(candles[-(area // step) :]) if candles else []
    low, high = _price_range(shown, text.previous_close)
    scale = Scale(low, high, price_rows)
    ticks = price_ticks(low, high, max(2, price_rows // 4))
    step_price = nice_step(high - low, max(2, price_rows // 4))

    chars = [[" "] * area for _ in range(price_rows + volume_rows)]
    inks: list[list[Ink]] = [["plain"] * area for _ in range(price_rows + volume_rows)]
    if text.previous_close is not None and shown:
        row = scale.row(text.previous_close)
        chars[row] = [PREVIOUS_LINE] * area
        inks[row] = ["previous"] * area
    most = max((candle.volume for candle in shown), default=0.0)
    for index, candle in enumerate(shown):
        x = index * step
        if candle.day_vwap is not None:
            row = scale.row(candle.day_vwap)
            for dx in range(step):
                chars[row][x + dx] = VWAP_LINE
                inks[row][x + dx] = "vwap"
        up = candle.close >= candle.open
        ink: Ink = "up" if up else "down"
        top, cells = candle_cells(candle, scale)
        for offset, glyph in enumerate(cells):
            chars[top + offset][x] = glyph
            inks[top + offset][x] = ink
        volume_ink: Ink = "volume-up" if up else "volume-down"
        for offset, glyph in enumerate(volume_cells(candle.volume, most, volume_rows)):
            if glyph != " ":
                chars[price_rows + offset][x] = glyph
                inks[price_rows + offset][x] = volume_ink

    labels: dict[int, tuple[str, Ink]] = {}
    if shown:
        labels = {scale.row(tick): (price_label(tick, step_price), "axis") for tick in ticks}
        if text.previous_close is not None:  # its line is labelled on the axis, in its own ink
            labels[scale.row(text.previous_close)] = (price_text(text.previous_close), "previous")
    rows: list[list[Run]] = [[(title, "title")]]
    for y in range(price_rows + volume_rows):
        runs = [("".join(run_chars), ink) for ink, run_chars in _runs(chars[y], inks[y])]
        label, label_ink = labels.get(y, ("", "axis"))
        runs.append((" " + label.rjust(axis_width - 1)[-(axis_width - 1) :], label_ink))
        rows.append(runs)
    rows.append([(_time_axis(shown, interval, step, width), "axis")])
    return rows


def _runs(chars: list[str], inks: list[Ink]) -> list[tuple[Ink, list[str]]]:
    runs: list[tuple[Ink, list[str]]] = []
    start = 0
    for ink, group in groupby(inks):
        length = sum(1 for _ in group)
        runs.append((ink, chars[start : start + length]))
        start += length
    return runs


def _price_range(candles: Sequence[Candle], previous_close: float | None) -> tuple[float, float]:
    prices = [candle.low for candle in candles] + [candle.high for candle in candles]
    prices += [candle.day_vwap for candle in candles if candle.day_vwap is not None]
    if previous_close is not None:
        prices.append(previous_close)
    if not prices:
        return 0.0, 1.0
    low, high = min(prices), max(prices)
    if high - low < 1e-9:  # a flat line sits mid-chart
        low, high = low - 1, high + 1
    return low, high


def _time_axis(candles: Sequence[Candle], interval: Interval, step: int, width: int) -> str:
    line = [" "] * width
    for x, label in _time_labels(candles, interval, step):
        if x + len(label) <= width:
            line[x : x + len(label)] = label
    return "".join(line)


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded to ``width`` cells (a Japanese name counts two a character)."""
    while cell_len(text) > width:
        text = text[:-1]
    return text + " " * (width - cell_len(text))
