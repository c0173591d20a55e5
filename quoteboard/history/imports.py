"""``quoteboard history import``: a recording's quotes into the tick store.

The frames are decoded as the feed decodes them and kept by the same rule as the live writer (a
quote whose price or cumulative volume moved). Ticks the store already holds stay as they are, so
importing a file twice adds nothing. The 1-minute candles of every day touched are then built again
from all the ticks held for it, so a day recorded in two pieces, or partly written live, is whole.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from quoteboard.history.recording import iter_frames, scan_recording
from quoteboard.history.store import (
    VWAP_PER_PRICE,
    StoreError,
    day_of,
    day_range_ms,
    describe_error,
    open_for_writing,
)
from quoteboard.history.writer import Ingest, Symbol
from quoteboard.kabu.protocol import Quote, decode_frame

__all__ = ["ImportResult", "import_recording", "rebuild_day"]

#: Frames decoded between commits (a recording of a whole day is millions of frames).
BATCH = 50_000


@dataclass(slots=True)
class ImportResult:
    frames: int = 0
    ticks: int = 0
    #: Lines of the recording that could not be read (a cut-short line, not JSON).
    skipped: int = 0
    days: set[int] = field(default_factory=set)
    symbols: set[tuple[str, int]] = field(default_factory=set)
    note: str | None = None

    def describe(self, path: Path) -> str:
        days = ", ".join(str(day_of(day)) for day in sorted(self.days)) or "no day"
        text = f"imported {self.ticks:,} ticks of {len(self.symbols)} symbols ({days}) into {path}"
        return text + (f"; {self.skipped} unreadable lines skipped" if self.skipped else "")


def import_recording(recording: Path, path: Path) -> ImportResult:
    """Put the ticks of ``recording`` into the store at ``path``. Raises ``RecordingError`` for a
    file that cannot be read and :class:`StoreError` for a store that cannot be written."""
    scanned = scan_recording(recording)
    result = ImportResult(frames=scanned.frames, skipped=scanned.skipped)
    db, result.note = open_for_writing(path)
    try:
        ingest = Ingest(db, resume=False)
        pending: list[Quote] = []
        for frame in iter_frames(recording):
            decoded = decode_frame(frame.data)
            if isinstance(decoded, Quote):
                pending.append(decoded)
            if len(pending) >= BATCH:
                _commit(ingest, pending)
                pending = []
        _commit(ingest, pending)
        touched = sorted(ingest.days_written)
        db.execute("BEGIN IMMEDIATE")
        for day, sym in touched:
            rebuild_day(db, sym, day)
        db.execute("COMMIT")
        result.ticks = ingest.stored
        result.days = {day for day, _ in touched}
        result.symbols = {key for key, symbol in ingest.symbols.items() if symbol.last_t >= 0}
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise StoreError(f"could not write the tick store {path} ({describe_error(exc)})") from None
    finally:
        db.close()
    return result


def _commit(ingest: Ingest, quotes: list[Quote]) -> None:
    db = ingest.db
    db.execute("BEGIN IMMEDIATE")
    for quote in quotes:
        ingest.add_quote(quote)
    ingest.flush()
    db.execute("COMMIT")


def rebuild_day(db: sqlite3.Connection, sym: int, day: int) -> None:
    """The minutes and the tick count of one symbol's day, made again from every tick held for it
    (in the caller's transaction)."""
    start, end = day_range_ms(day)
    minute_range = (sym, start // 60_000, end // 60_000)
    db.execute("DELETE FROM minutes WHERE sym = ? AND m >= ? AND m < ?", minute_range)
    symbol = Symbol(sym)
    minutes = []
    count = 0
    rows = db.execute(
        "SELECT t, price, volume, vwap FROM ticks WHERE sym = ? AND t >= ? AND t < ? ORDER BY t",
        (sym, start, end),
    )
    for t, price, volume, vwap in rows.fetchall():
        closed = symbol.add(t, price, volume, None if vwap is None else vwap + price * VWAP_PER_PRICE)
        if closed is not None:
            minutes.append(closed)
        count += 1
    if count:
        minutes.append(symbol.row())
    db.executemany("INSERT INTO minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", minutes)
    db.execute(
        "INSERT INTO days VALUES (?, ?, ?) ON CONFLICT (day, sym) DO UPDATE SET ticks = excluded.ticks",
        (day, sym, count),
    )
