"""``quoteboard history``: a day recorded at Kabu's pace imported gives the candles worked out from
the recording itself; CSV and Parquet exports hold the same rows; list says what is held."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow.parquet
import pytest

from quoteboard.history.candles import INTERVALS, Tick, build_candles, jst_day
from quoteboard.history.recording import iter_frames
from quoteboard.history.source import tick_of
from quoteboard.history.store import TickStore
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame
from quoteboard.kabu.records import JST
from tests.history.store_support import OPEN, assert_same_candles, record_day

KEYS = ["7203@1", "9433@1"]
DAY = jst_day(OPEN.timestamp())


def quoteboard(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quoteboard", "history", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "QUOTEBOARD_DATA_DIR": str(data)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return record_day(tmp_path_factory.mktemp("recording") / "day.ndjson", KEYS)


@pytest.fixture
def imported(recording, tmp_path) -> Path:
    data = tmp_path / "data"
    result = quoteboard("import", str(recording), data=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported ") and "2 symbols (2026-12-03)" in result.stdout
    return data


def recorded_ticks(recording: Path, code: str) -> list[Tick]:
    """The ticks of ``code`` worked out from the recording alone: each quote whose price or
    cumulative volume moved, in the order received."""
    ticks: list[Tick] = []
    for frame in iter_frames(recording):
        quote = decode_frame(frame.data)
        if not isinstance(quote, Quote) or quote.symbol != code or (tick := tick_of(quote)) is None:
            continue
        if not ticks or (ticks[-1].price, ticks[-1].volume) != (tick.price, tick.volume):
            ticks.append(tick)
    return ticks


def test_an_imported_day_gives_the_candles_of_the_recording(recording, imported) -> None:
    store = TickStore(imported / "ticks.sqlite3")
    for key in KEYS:
        code = key.split("@")[0]
        expected = recorded_ticks(recording, code)
        assert len(expected) > 1000
        for interval in INTERVALS:
            history = store.candles(SymbolKey(code), interval)
            assert history.since == expected[0].time
            assert_same_candles(history.candles, build_candles(expected, interval))
    assert not (imported / "demo-ticks.sqlite3").exists()


def test_importing_the_same_recording_again_adds_nothing(recording, imported) -> None:
    store = TickStore(imported / "ticks.sqlite3")
    before = [(d.day, d.symbols) for d in store.days()]
    candles = store.candles(SymbolKey("7203"), "5m").candles
    assert quoteboard("import", str(recording), data=imported).returncode == 0
    assert [(d.day, d.symbols) for d in store.days()] == before
    assert store.candles(SymbolKey("7203"), "5m").candles == candles


@pytest.mark.parametrize("interval", ["1m", "tick"])
def test_csv_and_parquet_exports_hold_the_same_rows(imported, tmp_path, interval) -> None:
    out = {}
    for fmt in ("csv", "parquet"):
        out[fmt] = tmp_path / f"7203.{fmt}"
        result = quoteboard("export", "7203", "--interval", interval, "--date", "2026-12-03",
                            "--format", fmt, "-o", str(out[fmt]), data=imported)  # fmt: skip
        assert result.returncode == 0, result.stderr
    with open(out["csv"], encoding="utf-8", newline="") as file:
        text_rows = list(csv.reader(file))
    table = pyarrow.parquet.read_table(out["parquet"])
    assert table.column_names == text_rows[0]
    assert table.num_rows == len(text_rows) - 1 > 30
    for text, row in zip(text_rows[1:], table.to_pylist(), strict=True):
        assert datetime.fromisoformat(text[0]) == row["time"]
        assert row["time"].utcoffset() == JST.utcoffset(None)
        values = [row[name] for name in table.column_names[1:]]
        assert [float(cell) if cell else None for cell in text[1:]] == values


def test_the_export_on_stdout_is_the_store_s_candles(imported) -> None:
    result = quoteboard("export", "9433@1", "--interval", "1h", data=imported)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    candles = TickStore(imported / "ticks.sqlite3").candles(SymbolKey("9433"), "1h", DAY).candles
    assert [(float(r["open"]), float(r["close"]), float(r["volume"])) for r in rows] == [
        (c.open, c.close, c.volume) for c in candles
    ]
    assert [r["time"][11:16] for r in rows] == ["09:00", "11:00", "12:00", "15:00"]


def test_list_says_the_days_and_symbols_held(imported) -> None:
    result = quoteboard("list", data=imported)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{imported / 'ticks.sqlite3'}: 1 day, ")
    assert lines[1].startswith("2026-12-03  2 symbols  ")
    assert [line.split()[0] for line in lines[2:]] == KEYS
    demo = quoteboard("list", "--demo", data=imported)
    assert demo.stdout == f"{imported / 'demo-ticks.sqlite3'}: nothing held\n"


def test_bad_input_is_one_line(imported, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a recording\n", encoding="utf-8")
    cases = {
        ("import", str(notes)): "holds no frames: is it a recording made with --record?",
        ("export", "6758"): "no ticks of 6758@1 held in ",
        ("export", "7203", "--from", "2026-12-04", "--to", "2026-12-03"): "--from comes after --to",
    }
    for args, said in cases.items():
        result = quoteboard(*args, data=imported)
        assert result.returncode == 1 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert said in line and "Traceback" not in line
    usage = [
        ("export", "7203", "--format", "parquet"),  # Parquet is not for a terminal
        ("export", "7203", "--date", "2026-12-03", "--from", "2026-12-03", "--to", "2026-12-03"),
        ("export", "7203", "--date", "12/3"),
    ]
    for args in usage:
        result = quoteboard(*args, data=imported)
        assert result.returncode == 2 and "Traceback" not in result.stderr
