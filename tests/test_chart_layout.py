"""The chart's layout worked out by hand: scaling, axes, glyphs (no Textual)."""

from __future__ import annotations

from datetime import datetime

from quoteboard.board.chart_layout import (
    ChartText,
    Scale,
    candle_cells,
    draw_chart,
    nice_step,
    price_label,
    price_text,
    price_ticks,
    time_label,
    volume_cells,
)
from quoteboard.history.candles import Candle
from quoteboard.kabu.records import JST


def at(hhmm: str) -> float:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 12, 3, h, m, tzinfo=JST).timestamp()


def candle(start: str, o: float, h: float, low: float, c: float, volume: float = 100.0, vwap=None) -> Candle:
    return Candle(at(start), "1m", o, h, low, c, volume, None, vwap, 1)


def text(rows) -> list[str]:
    return ["".join(run for run, _ in row) for row in rows]


def test_axis_steps_are_one_two_or_five_times_a_power_of_ten():
    assert nice_step(100, 5) == 20
    assert nice_step(7, 4) == 2
    assert nice_step(0.3, 3) == 0.1
    assert nice_step(4500, 4) == 2000
    assert price_ticks(2731, 2769, 4) == [2740, 2750, 2760]


def test_prices_are_written_with_thousands_separators():
    assert price_label(12345, 5) == "12,345"
    assert price_label(2748.5, 0.5) == "2,748.5"
    assert price_label(1234567, 100_000) == "1,234,567"
    assert price_text(2748.5) == "2,748.5" and price_text(2748.0) == "2,748"


def test_times_are_written_in_jst_whatever_the_machine_zone():
    assert time_label(at("09:30"), "1m") == "09:30"
    assert time_label(at("00:00"), "1d") == "12/03"


def test_a_candle_by_hand_in_half_rows():
    # Prices 100..107 over 4 rows (8 half rows, 1 yen each): the body 102..105, wicks 100 and 107.
    scale = Scale(100, 107, 4)
    assert [scale.half(p) for p in (100, 102, 105, 107)] == [0, 2, 5, 7]
    top, cells = candle_cells(candle("09:00", 102, 107, 100, 105), scale)
    # Row 0 holds half rows 7 (wick) and 6 (wick); row 1: 5 and 4 (body); row 2: 3, 2 (body);
    # row 3: 1, 0 (wick).
    assert (top, cells) == (0, ["│", "█", "█", "│"])
    # A body ending mid-cell ends on a half block; a wick in one half is a half line.
    top, cells = candle_cells(candle("09:00", 103, 106, 103, 105), scale)
    assert (top, cells) == (0, ["╷", "█", "▀"])
    top, cells = candle_cells(candle("09:00", 101, 101, 101, 101), scale)  # a doji: a half block
    assert (top, cells) == (3, ["▀"])


def test_volume_bars_in_half_rows_with_any_trade_showing():
    assert volume_cells(100, 100, 3) == ["█", "█", "█"]
    assert volume_cells(50, 100, 3) == [" ", "▄", "█"]
    assert volume_cells(1, 1000, 3) == [" ", " ", "▄"]
    assert volume_cells(0, 1000, 3) == [" ", " ", " "]


def test_the_whole_chart_by_hand():
    candles = [
        candle("09:00", 100, 104, 99, 103, volume=400, vwap=101),
        candle("09:01", 103, 103, 100, 101, volume=200, vwap=101.5),
    ]
    rows = draw_chart(candles, 20, 12, ChartText("7203 up", previous_close=98))
    lines = text(rows)
    assert len(lines) == 12 and all(len(line) == 20 for line in lines)
    assert lines[0].startswith("7203 up")
    # Price rows 1..8 (8 rows, 16 half rows over 98..104), volume rows 9..10, the time axis last.
    assert lines[-1].startswith("09:00")
    assert lines[8].startswith("╌╌╌")  # the previous close, 98, is the lowest price: the last row
    # Two columns a candle when they fit: the up candle at 0, the down one at 2.
    inks = [dict(enumerate(ink for run, ink in row for _ in run)) for row in rows]
    assert {inks[y][0] for y in range(1, 9) if lines[y][0] in "█▀▄│╵╷"} == {"up"}
    assert {inks[y][2] for y in range(1, 9) if lines[y][2] in "█▀▄│╵╷"} == {"down"}
    assert lines[9][0] == "█" and lines[10][0] == "█"  # the larger volume fills its rows
    assert lines[9][2] == " " and lines[10][2] == "█"  # half of it: one row of two
    assert inks[10][0] == "volume-up" and inks[10][2] == "volume-down"
    # The price axis on the right: 98..104 in two or so steps is a step of 5, so 100 only, at its row;
    # and the previous close's price at its line, in its ink.
    axis = [line[-4:].strip() for line in lines[1:9]]
    assert axis == ["", "", "", "", "", "100", "", "98"]
    assert Scale(98, 104, 8).row(100) == 5
    assert rows[8][-1] == ("  98", "previous") and rows[6][-1] == (" 100", "axis")
    # The VWAP line runs where no candle is drawn.
    assert any(inks[y].get(1) == "vwap" for y in range(1, 9))


def test_only_the_latest_candles_that_fit_are_drawn():
    candles = [candle(f"09:{m:02d}", 100 + m, 101 + m, 99 + m, 100.5 + m) for m in range(50)]
    lines = text(draw_chart(candles, 30, 10, ChartText("x")))
    labels = lines[-1].split()
    assert "09:00" not in labels and all(label >= "09:2" for label in labels)


def test_a_size_too_small_still_gives_its_rows():
    assert text(draw_chart([], 10, 2, ChartText("7203 トヨタ自動車"))) == ["7203 トヨ ", " " * 10]
    assert draw_chart([], 0, 5) == []


def test_time_labels_fall_on_the_jst_clock():
    # 15-minute candles a column each: a label every 2 hours at most (8 columns), on even JST hours
    # (10:00 is too near the first label, 09:00, to be written).
    candles = [
        Candle(at("09:00") + 900 * i, "15m", 100, 101, 99, 100.5, 10, None, None, 1) for i in range(24)
    ]
    axis = text(draw_chart(candles, 40, 8, ChartText("x")))[-1]
    assert axis.split() == ["09:00", "12:00", "14:00"]
    assert axis.index("12:00") == 12 and axis.index("14:00") == 20
