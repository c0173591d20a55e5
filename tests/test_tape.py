"""The board's own memory of the day: one-minute candles regrouped, and the demo morning put before them."""

from __future__ import annotations

import asyncio
from datetime import datetime

from quoteboard.history.candles import Tick, build_candles
from quoteboard.history.tape import SessionTape, regroup
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.records import JST

KEY = SymbolKey("7203")


def at(hhmmss: str, day: int = 3) -> float:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(2026, 12, day, h, m, s, tzinfo=JST).timestamp()


DAY = [
    Tick(at("09:00:00"), 100.0, volume=1000, vwap=100.0),
    Tick(at("09:01:30"), 102.0, volume=1500, vwap=100.7),
    Tick(at("09:04:59"), 99.0, volume=1600, vwap=100.6),
    Tick(at("09:05:10"), 101.0, volume=2600, vwap=100.7),
    Tick(at("09:07:00"), 103.0, volume=3000, vwap=101.0),
]


def test_regrouped_minutes_are_the_candles_built_from_the_ticks():
    for interval in ("5m", "15m", "1h", "1d"):
        assert regroup(build_candles(DAY, "1m"), interval) == build_candles(DAY, interval)


def test_the_tape_answers_as_a_candle_source_from_its_first_tick():
    tape = SessionTape()
    for tick in DAY:
        tape.add(KEY, tick)
    history = asyncio.run(tape.candles(KEY, "5m"))
    assert history.candles == build_candles(DAY, "5m")
    assert history.since == DAY[0].time
    assert asyncio.run(tape.candles(SymbolKey("6758"), "1m")).candles == []


def test_a_new_day_drops_yesterdays_candles():
    tape = SessionTape()
    tape.add(KEY, Tick(at("15:00:00", day=2), 90.0, volume=500))
    tape.add(KEY, Tick(at("09:00:00"), 100.0, volume=10))
    assert [c.start for c in tape.minutes(KEY)] == [at("09:00:00")]
    assert tape.since(KEY) == at("09:00:00")


def test_the_demo_morning_goes_before_the_tape_and_the_volume_counts_once():
    tape = SessionTape()
    for tick in DAY[3:]:  # the board started at 09:05
        tape.add(KEY, tick)
    tape.prepend(KEY, DAY[:3])
    assert tape.minutes(KEY) == build_candles(DAY, "1m")
    assert tape.since(KEY) == DAY[0].time
    # The live builder goes on from the forming candle.
    tape.add(KEY, Tick(at("09:07:30"), 104.0, volume=3100))
    assert tape.minutes(KEY)[-1] == build_candles([*DAY, Tick(at("09:07:30"), 104.0, volume=3100)], "1m")[-1]


def test_a_morning_for_an_empty_tape_is_the_tape():
    tape = SessionTape()
    tape.prepend(KEY, DAY)
    assert tape.minutes(KEY) == build_candles(DAY, "1m")
    tape.add(KEY, Tick(at("09:07:40"), 105.0, volume=3050))
    assert tape.minutes(KEY)[-1].volume == 400 + 50 and tape.minutes(KEY)[-1].close == 105.0
