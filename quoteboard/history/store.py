"""The tick store: every quote that moved, kept in SQLite for the day's charts and for export.

One file per kind of station, in the user data directory (:func:`data_dir`): ``ticks.sqlite3`` for a
real station, ``demo-ticks.sqlite3`` for the demo and replays, so a made-up day is never mixed into a
real one. The file is in WAL mode: one writer (:class:`~quoteboard.history.writer.TickWriter`, in the
process that holds the station's socket) and any number of readers in other processes.

The schema is built for size (a full day of 50 symbols at Kabu's peak is about 2.5 million ticks):

- ``symbols``: a small id for each ``CODE@EXCHANGE``.
- ``ticks``: keyed by symbol id and the station's time in integer milliseconds, ``WITHOUT ROWID`` so
  the key is the row. Prices are integers in hundredths of a yen (Kabu quotes at most two decimals);
  the best bid and ask are stored as their distance from the price and the VWAP (four decimals at
  Kabu) as its distance in ten-thousandths, small integers that SQLite keeps in one to three bytes.
  Kabu's ``CurrentPriceTime`` has whole seconds, so the milliseconds of a time carry the order of
  the ticks within that second (see :mod:`~quoteboard.history.writer`).
- ``minutes``: the 1-minute candle of each symbol and minute, kept by the writer as ticks come, so a
  chart's day of candles is a few hundred rows; longer intervals are made from them.
- ``days``: which JST days hold ticks of which symbols, and how many (``history list``, pruning).

Nothing here raises for a missing file: a store with no file holds nothing. A file that is not a
SQLite database is moved aside by whoever opens it for writing (:func:`open_for_writing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import platformdirs

from quoteboard.history.candles import INTERVAL_SECONDS, Candle, Interval, Tick, bucket_start
from quoteboard.history.source import History
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.store.atomic import backup_path, os_reason, replace
from quoteboard.store.toml import CONFIG_DIR_ENV

__all__ = [
    "DATA_DIR_ENV",
    "DEMO_FILE",
    "PRICE_SCALE",
    "STATION_FILE",
    "VWAP_PER_PRICE",
    "VWAP_SCALE",
    "DayHeld",
    "StoreCandles",
    "StoreError",
    "TickStore",
    "data_dir",
    "day_of",
    "day_range_ms",
    "describe_error",
    "open_for_writing",
    "store_path",
    "transaction",
]

DATA_DIR_ENV: Final = "QUOTEBOARD_DATA_DIR"
STATION_FILE: Final = "ticks.sqlite3"
DEMO_FILE: Final = "demo-ticks.sqlite3"
#: Prices (and bid/ask distances) are stored in hundredths, the VWAP in ten-thousandths.
PRICE_SCALE: Final = 100
VWAP_SCALE: Final = 10_000
#: A price in the VWAP's scale is the stored price times this.
VWAP_PER_PRICE: Final = VWAP_SCALE // PRICE_SCALE
_EPOCH_DAY: Final = date(1970, 1, 1)
_JST_MS: Final = 9 * 3600 * 1000
_DAY_MS: Final = 86_400_000

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS symbols (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    exchange INTEGER NOT NULL,
    UNIQUE (code, exchange)
);
CREATE TABLE IF NOT EXISTS ticks (
    sym INTEGER NOT NULL,
    t INTEGER NOT NULL,
    price INTEGER NOT NULL,
    volume REAL,
    vwap INTEGER,
    bid INTEGER,
    ask INTEGER,
    PRIMARY KEY (sym, t)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minutes (
    sym INTEGER NOT NULL,
    m INTEGER NOT NULL,
    open INTEGER NOT NULL,
    high INTEGER NOT NULL,
    low INTEGER NOT NULL,
    close INTEGER NOT NULL,
    volume REAL NOT NULL,
    turnover REAL NOT NULL,
    day_vwap INTEGER,
    ticks INTEGER NOT NULL,
    cumulative REAL NOT NULL,
    PRIMARY KEY (sym, m)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS days (
    day INTEGER NOT NULL,
    sym INTEGER NOT NULL,
    ticks INTEGER NOT NULL,
    PRIMARY KEY (day, sym)
) WITHOUT ROWID;
"""


class StoreError(Exception):
    """The store cannot be used; the message is one line for the user."""


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock at once: committed, or rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def data_dir() -> Path:
    """Where the tick store lives: ``$QUOTEBOARD_DATA_DIR``, else ``$QUOTEBOARD_CONFIG_DIR`` (so a
    run that keeps its settings apart keeps its history apart too), else the platform's user data
    directory (``~/.local/share/quoteboard`` on Linux, ``%LOCALAPPDATA%\\quoteboard`` on Windows)."""
    for env in (DATA_DIR_ENV, CONFIG_DIR_ENV):
        override = os.environ.get(env)
        if override:
            return Path(override).expanduser()
    return platformdirs.user_data_path("quoteboard", appauthor=False)


def store_path(demo: bool = False) -> Path:
    """The store of a real station, or (``demo``) of the demo and replays."""
    return data_dir() / (DEMO_FILE if demo else STATION_FILE)


def day_of(day: int) -> date:
    """A JST day number (:func:`~quoteboard.history.candles.jst_day`) as a date."""
    return _EPOCH_DAY + timedelta(days=day)


def day_number(when: date) -> int:
    return (when - _EPOCH_DAY).days


def day_range_ms(day: int) -> tuple[int, int]:
    """The epoch milliseconds ``[start, end)`` of the JST day ``day``."""
    start = day * _DAY_MS - _JST_MS
    return start, start + _DAY_MS


def describe_error(exc: BaseException) -> str:
    """A store's error in a few words: what a user can act on, not SQLite's code."""
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return "the disk is full"
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return "another program is writing to it"
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return "it is damaged"
        if code == sqlite3.SQLITE_READONLY:
            return "it is read-only"
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return os_reason(exc)
    return str(exc) or type(exc).__name__


def is_damage(exc: BaseException) -> bool:
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    return isinstance(exc, sqlite3.DatabaseError) and code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _connect(path: Path, *, timeout: float) -> sqlite3.Connection:
    """Every connection to a store is made here (tests put a faulty one in its place)."""
    return sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)


def open_for_writing(path: Path, *, timeout: float = 2.0) -> tuple[sqlite3.Connection, str | None]:
    """The store at ``path`` opened for writing, created if missing, and a sentence when a damaged
    file had to be moved aside first (None otherwise). Raises :class:`StoreError`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"could not create the directory {path.parent} ({os_reason(exc)})") from None
    note = None
    try:
        return _prepare(_connect(path, timeout=timeout)), None
    except sqlite3.Error as exc:
        if not is_damage(exc):
            raise StoreError(f"could not open the tick store {path} ({describe_error(exc)})") from None
    try:
        moved = move_aside(path)
    except OSError as exc:
        raise StoreError(
            f"the tick store {path} is damaged and could not be moved aside ({os_reason(exc)})"
        ) from None
    note = f"the tick store {path} was damaged: moved it aside to {moved.name}, history starts afresh"
    try:
        return _prepare(_connect(path, timeout=timeout)), note
    except sqlite3.Error as exc:
        raise StoreError(f"could not open the tick store {path} ({describe_error(exc)})") from None


def _prepare(db: sqlite3.Connection) -> sqlite3.Connection:
    try:
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the program; only a power cut may lose
        # the last commits, never damage the file.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def move_aside(path: Path) -> Path:
    """Move a damaged store (and its write-ahead log) to ``NAME.bak`` (``.bak.1``...)."""
    backup = backup_path(path)
    replace(path, backup)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        replace(wal, backup.with_name(backup.name + "-wal"))
    with contextlib.suppress(OSError):
        path.with_name(path.name + "-shm").unlink()
    return backup


@dataclass(frozen=True, slots=True)
class DayHeld:
    """One JST day in the store: each symbol held and its tick count, and the day's share of the file."""

    day: date
    symbols: dict[SymbolKey, int]
    bytes: int

    @property
    def ticks(self) -> int:
        return sum(self.symbols.values())


class TickStore:
    """Reads a store file; each method opens its own short connection, so any thread may call it.

    A file that does not exist holds nothing. Raises :class:`StoreError` for a file that cannot be
    read (damaged, not a database, no permission)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None
            return
        try:
            db = _connect(self.path, timeout=5.0)
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the tick store {self.path} ({describe_error(exc)})") from None
        try:
            db.execute("PRAGMA query_only=ON")
            yield db
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the tick store {self.path} ({describe_error(exc)})") from None
        finally:
            db.close()

    def days(self) -> list[DayHeld]:
        """Every day held, oldest first, with each symbol's tick count."""
        with self._reading() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT days.day, symbols.code, symbols.exchange, days.ticks FROM days"
                " JOIN symbols ON symbols.id = days.sym ORDER BY days.day, symbols.code, symbols.exchange"
            ).fetchall()
        total = sum(row[3] for row in rows) or 1
        size = self.size()
        held: dict[int, dict[SymbolKey, int]] = {}
        for day, code, exchange, ticks in rows:
            held.setdefault(day, {})[SymbolKey(code, exchange)] = ticks
        return [DayHeld(day_of(d), held_, size * sum(held_.values()) // total) for d, held_ in held.items()]

    def size(self) -> int:
        """The file's bytes on disk, its write-ahead log included."""
        total = 0
        for name in (self.path.name, self.path.name + "-wal"):
            with contextlib.suppress(OSError):
                total += self.path.with_name(name).stat().st_size
        return total

    def latest_day(self, key: SymbolKey) -> int | None:
        with self._reading() as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT max(days.day) FROM days JOIN symbols ON symbols.id = days.sym"
                " WHERE symbols.code = ? AND symbols.exchange = ?",
                (key.code, key.exchange),
            ).fetchone()
        return None if row is None else row[0]

    def ticks(self, key: SymbolKey, start_day: int, end_day: int | None = None) -> Iterator[Tick]:
        """The ticks of ``key`` on the JST days ``start_day``..``end_day`` (inclusive), in time order."""
        start = day_range_ms(start_day)[0]
        end = day_range_ms(start_day if end_day is None else end_day)[1]
        with self._reading() as db:
            if db is None:
                return
            sym = _symbol_id(db, key)
            if sym is None:
                return
            rows = db.execute(
                "SELECT t, price, volume, vwap, bid, ask FROM ticks"
                " WHERE sym = ? AND t >= ? AND t < ? ORDER BY t",
                (sym, start, end),
            )
            for t, price, volume, vwap, bid, ask in rows:
                yield decode_tick(t, price, volume, vwap, bid, ask)

    def candles(self, key: SymbolKey, interval: Interval, day: int | None = None) -> History:
        """The candles of ``key`` on the JST ``day`` (None: the latest day held for it)."""
        with self._reading() as db:
            if db is None:
                return History(key, interval, [], None)
            sym = _symbol_id(db, key)
            if sym is None:
                return History(key, interval, [], None)
            if day is None:
                row = db.execute("SELECT max(day) FROM days WHERE sym = ?", (sym,)).fetchone()
                if row is None or row[0] is None:
                    return History(key, interval, [], None)
                day = int(row[0])
            start, end = day_range_ms(day)
            first = db.execute(
                "SELECT min(t) FROM ticks WHERE sym = ? AND t >= ? AND t < ?", (sym, start, end)
            ).fetchone()[0]
            rows = db.execute(
                "SELECT m, open, high, low, close, volume, turnover, day_vwap, ticks FROM minutes"
                " WHERE sym = ? AND m >= ? AND m < ? ORDER BY m",
                (sym, start // 60_000, end // 60_000),
            ).fetchall()
        since = None if first is None else first / 1000
        return History(key, interval, candles_of_minutes(rows, interval), since)


def _symbol_id(db: sqlite3.Connection, key: SymbolKey) -> int | None:
    row = db.execute("SELECT id FROM symbols WHERE code = ? AND exchange = ?", tuple(key)).fetchone()
    return None if row is None else int(row[0])


def decode_tick(
    t: int, price: int, volume: float | None, vwap: int | None, bid: int | None, ask: int | None
) -> Tick:
    """A stored row as a :class:`Tick` (prices back in yen, the time in epoch seconds)."""
    return Tick(
        time=t / 1000,
        price=price / PRICE_SCALE,
        volume=volume,
        vwap=None if vwap is None else (price * VWAP_PER_PRICE + vwap) / VWAP_SCALE,
        bid=None if bid is None else (price - bid) / PRICE_SCALE,
        ask=None if ask is None else (price + ask) / PRICE_SCALE,
    )


MinuteRow = tuple[int, int, int, int, int, float, float, "int | None", int]


def candles_of_minutes(rows: list[MinuteRow], interval: Interval) -> list[Candle]:
    """Candles of ``interval`` from stored minutes (in order): every interval is whole minutes
    aligned on the JST clock, so its candle is its minutes merged."""
    candles: list[Candle] = []
    bucket: float | None = None
    o = h = low = c = 0
    volume = turnover = 0.0
    day_vwap: int | None = None
    ticks = 0

    def close() -> None:
        assert bucket is not None
        candles.append(
            Candle(
                start=bucket,
                interval=interval,
                open=o / PRICE_SCALE,
                high=h / PRICE_SCALE,
                low=low / PRICE_SCALE,
                close=c / PRICE_SCALE,
                volume=volume,
                vwap=turnover / PRICE_SCALE / volume if volume > 0 else None,
                day_vwap=None if day_vwap is None else day_vwap / VWAP_SCALE,
                ticks=ticks,
            )
        )

    step = INTERVAL_SECONDS[interval]
    for m, mo, mh, ml, mc, mv, mt, mvwap, mticks in rows:
        start = bucket_start(m * 60, interval) if step > 60 else float(m * 60)
        if start != bucket:
            if bucket is not None:
                close()
            bucket, o, h, low, volume, turnover, ticks = start, mo, mh, ml, 0.0, 0.0, 0
        h, low, c = max(h, mh), min(low, ml), mc
        volume += mv
        turnover += mt
        ticks += mticks
        if mvwap is not None:
            day_vwap = mvwap
    if bucket is not None:
        close()
    return candles


class StoreCandles:
    """A :class:`~quoteboard.history.source.CandleSource` over a store file, for any process.

    Reads in a worker thread, so the event loop never waits on the disk; an unreadable file is a
    :class:`StoreError`."""

    def __init__(self, path: Path) -> None:
        self.store = TickStore(path)

    async def candles(self, key: SymbolKey, interval: Interval, day: date | None = None) -> History:
        number = None if day is None else day_number(day)
        return await asyncio.to_thread(self.store.candles, key, interval, number)
