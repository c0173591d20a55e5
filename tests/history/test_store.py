"""The tick store: what the writer keeps, the candles read back, restarts, pruning, damage and
a store that cannot be written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest

from quoteboard.history import store as store_module
from quoteboard.history.candles import INTERVALS, Tick, build_candles, jst_day
from quoteboard.history.source import tick_of
from quoteboard.history.store import StoreCandles, TickStore, data_dir, store_path
from quoteboard.history.writer import TickWriter
from quoteboard.kabu.protocol import Quote, SymbolKey
from tests.history.store_support import OPEN, assert_same_candles, market, quote

TOYOTA = SymbolKey("7203", 1)


def moved_ticks(quotes: Iterable[Quote], code: str) -> list[Tick]:
    """The ticks the store should keep, worked out without it: a symbol's quotes whose price or
    cumulative volume moved."""
    kept: list[Tick] = []
    for q in quotes:
        tick = tick_of(q)
        if q.symbol != code or tick is None:
            continue
        if kept and (kept[-1].price, kept[-1].volume) == (tick.price, tick.volume):
            continue
        kept.append(tick)
    return kept


def write_all(path: Path, quotes: Iterable[Quote], **options: int) -> TickWriter:
    errors: list[str] = []
    writer = TickWriter(path, on_error=errors.append, **options)
    writer.start()
    for q in quotes:
        writer.write(q)
    writer.close()
    assert errors == []
    return writer


def test_the_store_lives_in_the_data_directory_and_the_demo_has_its_own(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("QUOTEBOARD_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    assert store_path() == tmp_path / "data" / "ticks.sqlite3"
    assert store_path(demo=True) == tmp_path / "data" / "demo-ticks.sqlite3"
    monkeypatch.delenv("QUOTEBOARD_DATA_DIR")
    monkeypatch.setenv("QUOTEBOARD_CONFIG_DIR", str(tmp_path / "config"))
    assert store_path() == tmp_path / "config" / "ticks.sqlite3"


def test_candles_read_back_equal_those_built_from_the_quotes(tmp_path) -> None:
    quotes = list(market(["7203", "9433"], seconds=400))
    path = tmp_path / "ticks.sqlite3"
    writer = write_all(path, quotes)
    ticks = moved_ticks(quotes, "7203")
    assert len(ticks) < len([q for q in quotes if q.symbol == "7203"])  # some moved nothing
    store = TickStore(path)
    assert [t.price for t in store.ticks(TOYOTA, jst_day(OPEN.timestamp()))] == [t.price for t in ticks]
    for interval in INTERVALS:
        history = store.candles(TOYOTA, interval)
        assert history.since == ticks[0].time
        assert_same_candles(history.candles, build_candles(ticks, interval))
    assert writer.stored == len(ticks) + len(moved_ticks(quotes, "9433"))


def test_a_tick_keeps_its_vwap_bid_and_ask(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    write_all(path, [quote("7203", OPEN, 2501.5, 1200, vwap=2499.1234, bid=2501.0, ask=2502.5)])
    [tick] = TickStore(path).ticks(TOYOTA, jst_day(OPEN.timestamp()))
    assert tick == Tick(OPEN.timestamp(), 2501.5, 1200, 2499.1234, 2501.0, 2502.5)


def test_trades_in_one_second_keep_their_order_and_a_late_frame_is_dropped(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    later = OPEN + timedelta(seconds=5)
    write_all(
        path,
        [
            quote("7203", later, 100, 10),
            quote("7203", later, 101, 20),
            quote("7203", later, 101, 20),  # the book moved, not the trade: skipped
            quote("7203", later, 99, 30),
            quote("7203", OPEN, 98, 5),  # older than what is held: a late frame
        ],
    )
    ticks = list(TickStore(path).ticks(TOYOTA, jst_day(OPEN.timestamp())))
    assert [(t.time - later.timestamp(), t.price) for t in ticks] == [
        (0, 100),
        (pytest.approx(0.001, abs=1e-6), 101),
        (pytest.approx(0.002, abs=1e-6), 99),
    ]


def test_a_writer_started_again_in_the_day_carries_on_its_candles(tmp_path) -> None:
    quotes = list(market(["7203"], seconds=300, seed=2))
    path = tmp_path / "ticks.sqlite3"
    # The restart falls in the middle of a minute and of a second.
    write_all(path, quotes[:301])
    write_all(path, quotes[301:])
    ticks = moved_ticks(quotes, "7203")
    for interval in ("1m", "5m"):
        assert_same_candles(TickStore(path).candles(TOYOTA, interval).candles, build_candles(ticks, interval))


def test_only_the_latest_keep_days_trading_days_are_kept(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    days = [OPEN + timedelta(days=n) for n in (0, 1, 4, 5)]  # a weekend between: days with ticks count
    for n, day in enumerate(days):
        write_all(path, [quote("7203", day, 100 + n, 10)], keep_days=3)
    write_all(path, [], keep_days=3)
    held = TickStore(path).days()
    assert [d.day for d in held] == [day.date() for day in days[1:]]
    assert held[0].symbols == {TOYOTA: 1}
    assert TickStore(path).candles(TOYOTA, "1m", jst_day(days[0].timestamp())).candles == []


async def test_store_candles_read_in_a_thread_and_an_empty_store_holds_nothing(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    source = StoreCandles(path)
    empty = await source.candles(TOYOTA, "1m")
    assert (empty.candles, empty.since) == ([], None)
    write_all(path, [quote("7203", OPEN, 100, 10), quote("7203", OPEN + timedelta(minutes=1), 101, 20)])
    history = await source.candles(TOYOTA, "1m", OPEN.date())
    assert [c.close for c in history.candles] == [100, 101]


def test_a_damaged_file_is_moved_aside_and_history_starts_afresh(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    path.write_bytes(b"not a database, but the user's bytes" * 200)
    notes: list[str] = []
    writer = TickWriter(path, on_error=notes.append)
    writer.start()
    writer.write(quote("7203", OPEN, 100, 10))
    writer.close()
    assert len(notes) == 1 and "damaged" in notes[0] and "ticks.sqlite3.bak" in notes[0]
    assert (tmp_path / "ticks.sqlite3.bak").read_bytes().startswith(b"not a database")
    assert writer.failed is None and writer.stored == 1


def test_a_full_disk_is_said_once_and_history_stops(tmp_path, monkeypatch) -> None:
    connect = store_module._connect

    def small_disk(path: Path, *, timeout: float) -> sqlite3.Connection:
        db = connect(path, timeout=timeout)
        db.execute("PRAGMA max_page_count = 12")  # the schema fits; a few pages of ticks do not
        return db

    monkeypatch.setattr(store_module, "_connect", small_disk)
    errors: list[str] = []
    writer = TickWriter(tmp_path / "ticks.sqlite3", on_error=errors.append, interval=0.05)
    writer.start()
    for q in market(["7203", "9433"], seconds=600):
        writer.write(q)
    writer.close()
    assert len(errors) == 1
    assert errors[0].startswith("history off: ") and "the disk is full" in errors[0]
    assert "\n" not in errors[0]
    writer.write(quote("7203", OPEN, 1, 1))  # the feed goes on: nothing is queued any more
    assert writer.failed == errors[0]
