"""Writing the tick store: quotes in from the event loop, rows out to SQLite from one thread.

:class:`TickWriter` subscribes to a feed's quote channel; the event loop only appends each quote to a
queue. A thread takes them at least every :data:`COMMIT_INTERVAL` seconds, keeps the quotes whose
price or cumulative volume changed (:func:`~quoteboard.history.source.tick_of`), and commits them
with their minutes' candles in one transaction: a crash loses at most the last interval.

A store that cannot be written (a full disk, another program holding its write lock, a damaged
file) is said once, through ``on_error``, and the writer stops: the program goes on without history.
A damaged file is moved aside (``NAME.bak``) so the next start begins a new one.

Kabu's ``CurrentPriceTime`` has whole seconds, so two trades of a symbol in one second would share
a key: the second is stored a millisecond after the first (the milliseconds keep the order of
arrival; a thousand trades of one symbol in a second never happen). A tick older than the last one
stored for its symbol, in an earlier second, is a late frame and is not stored.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from quoteboard.history.candles import Tick
from quoteboard.history.source import tick_of
from quoteboard.history.store import (
    PRICE_SCALE,
    VWAP_SCALE,
    StoreError,
    day_range_ms,
    describe_error,
    is_damage,
    move_aside,
    open_for_writing,
)
from quoteboard.kabu.protocol import Quote

if TYPE_CHECKING:
    from quoteboard.feeds.contract import Channel

__all__ = ["COMMIT_INTERVAL", "DEFAULT_KEEP_DAYS", "MAX_PENDING", "Ingest", "TickWriter", "prune"]

#: Seconds between commits: what a crash of the writer can lose at most.
COMMIT_INTERVAL: Final = 0.5
#: Trading days kept (days that hold ticks); older ones are deleted when the writer starts.
DEFAULT_KEEP_DAYS: Final = 20
#: Quotes waiting for the thread beyond which new ones are dropped (a disk far slower than the feed).
MAX_PENDING: Final = 500_000
_JST_MS: Final = 9 * 3600 * 1000
_DAY_MS: Final = 86_400_000
_VWAP_PER_PRICE: Final = VWAP_SCALE // PRICE_SCALE

TickRow = tuple[int, int, int, "float | None", "int | None", "int | None", "int | None"]
MinuteRow = tuple[int, int, int, int, int, int, float, float, "int | None", int, float]


class Symbol:
    """One symbol's place in the store: the last tick kept (to skip repeats and order a second's
    trades) and its forming 1-minute candle."""

    __slots__ = (
        "close",
        "cumulative",
        "day",
        "day_vwap",
        "high",
        "last_price",
        "last_t",
        "last_volume",
        "low",
        "minute",
        "open",
        "sym",
        "ticks",
        "turnover",
        "volume",
    )

    def __init__(self, sym: int) -> None:
        self.sym = sym
        self.last_t = -1
        self.last_price: int | None = None
        self.last_volume: float | None = None
        self.day = -1
        self.cumulative = 0.0  # the day's largest cumulative volume so far: the next tick's baseline
        self.minute = -1
        self.open = self.high = self.low = self.close = 0
        self.volume = self.turnover = 0.0
        self.day_vwap: int | None = None
        self.ticks = 0

    def accept(self, t: int, price: int, volume: float | None) -> int | None:
        """The key time to store a tick under, or None to skip it (nothing moved, or a late frame)."""
        if price == self.last_price and volume == self.last_volume:
            return None
        if t <= self.last_t:
            if t // 1000 != self.last_t // 1000:
                return None
            t = self.last_t + 1
        self.last_t, self.last_price, self.last_volume = t, price, volume
        return t

    def add(self, t: int, price: int, volume: float | None, vwap: int | None) -> MinuteRow | None:
        """Put a kept tick in its minute (the same arithmetic as
        :class:`~quoteboard.history.candles.CandleBuilder`); returns the minute it closed, if any."""
        minute = t // 60_000
        closed = None
        if minute != self.minute:
            if self.minute >= 0:
                closed = self.row()
            self.minute = minute
            self.open = self.high = self.low = price
            self.volume = self.turnover = 0.0
            self.ticks = 0
        day = (t + _JST_MS) // _DAY_MS
        if day != self.day:
            self.day = day
            self.cumulative = 0.0  # the station's cumulative volume restarts each day
        if volume is not None:
            delta = max(0.0, volume - self.cumulative)
            self.cumulative = max(self.cumulative, volume)
            self.volume += delta
            self.turnover += delta * price
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price
        if vwap is not None:
            self.day_vwap = vwap
        self.ticks += 1
        return closed

    def row(self) -> MinuteRow:
        return (
            self.sym, self.minute, self.open, self.high, self.low, self.close,
            self.volume, self.turnover, self.day_vwap, self.ticks, self.cumulative,
        )  # fmt: skip

    def resume(self, db: sqlite3.Connection) -> None:
        """Carry on from what the store holds for this symbol (a restart within the day)."""
        last = db.execute(
            "SELECT t, price, volume FROM ticks WHERE sym = ? ORDER BY t DESC LIMIT 1", (self.sym,)
        ).fetchone()
        if last is not None:
            self.last_t, self.last_price, self.last_volume = last
        minute = db.execute(
            "SELECT m, open, high, low, close, volume, turnover, day_vwap, ticks, cumulative FROM minutes"
            " WHERE sym = ? ORDER BY m DESC LIMIT 1",
            (self.sym,),
        ).fetchone()
        if minute is not None:
            (self.minute, self.open, self.high, self.low, self.close, self.volume,
             self.turnover, self.day_vwap, self.ticks, self.cumulative) = minute  # fmt: skip
            self.day = (self.minute * 60_000 + _JST_MS) // _DAY_MS


def encode(tick: Tick) -> tuple[int, int, float | None, int | None, int | None, int | None]:
    """A tick's stored columns: time in ms, price in hundredths, the VWAP, bid and ask as distances."""
    price = round(tick.price * PRICE_SCALE)
    vwap = None if tick.vwap is None else round(tick.vwap * VWAP_SCALE) - price * _VWAP_PER_PRICE
    bid = None if tick.bid is None else price - round(tick.bid * PRICE_SCALE)
    ask = None if tick.ask is None else round(tick.ask * PRICE_SCALE) - price
    return round(tick.time * 1000), price, tick.volume, vwap, bid, ask


class Ingest:
    """Ticks to rows for one connection: symbol ids, each symbol's state, the pending rows.

    Used by the writer's thread and by ``history import``; :meth:`flush` writes what is pending in
    the caller's transaction."""

    def __init__(self, db: sqlite3.Connection, *, resume: bool = True) -> None:
        self.db = db
        self.resume = resume
        self.symbols: dict[tuple[str, int], Symbol] = {}
        self.rows: list[TickRow] = []
        self.minutes: list[MinuteRow] = []
        self.touched: dict[int, Symbol] = {}
        self.counts: collections.Counter[tuple[int, int]] = collections.Counter()
        self.stored = 0

    def symbol(self, key: tuple[str, int]) -> Symbol:
        held = self.symbols.get(key)
        if held is not None:
            return held
        self.db.execute("INSERT OR IGNORE INTO symbols (code, exchange) VALUES (?, ?)", key)
        sym = self.db.execute("SELECT id FROM symbols WHERE code = ? AND exchange = ?", key).fetchone()[0]
        held = self.symbols[key] = Symbol(sym)
        if self.resume:
            held.resume(self.db)
        return held

    def add(self, key: tuple[str, int], tick: Tick) -> bool:
        """Take one tick of ``key``; False when it is skipped."""
        t, price, volume, vwap, bid, ask = encode(tick)
        symbol = self.symbol(key)
        kept = symbol.accept(t, price, volume)
        if kept is None:
            return False
        self.rows.append((symbol.sym, kept, price, volume, vwap, bid, ask))
        closed = symbol.add(kept, price, volume, None if vwap is None else vwap + price * _VWAP_PER_PRICE)
        if closed is not None:
            self.minutes.append(closed)
        self.touched[symbol.sym] = symbol
        self.counts[((kept + _JST_MS) // _DAY_MS, symbol.sym)] += 1
        return True

    def add_quote(self, quote: Quote) -> bool:
        tick = tick_of(quote)
        if tick is None:
            return False
        return self.add((quote.symbol, 1 if quote.exchange is None else quote.exchange), tick)

    def flush(self) -> int:
        """Write the pending rows (in the caller's transaction); returns how many ticks."""
        db = self.db
        minutes = self.minutes + [symbol.row() for symbol in self.touched.values()]
        db.executemany("INSERT OR IGNORE INTO ticks VALUES (?, ?, ?, ?, ?, ?, ?)", self.rows)
        db.executemany("INSERT OR REPLACE INTO minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", minutes)
        db.executemany(
            "INSERT INTO days VALUES (?, ?, ?)"
            " ON CONFLICT (day, sym) DO UPDATE SET ticks = ticks + excluded.ticks",
            [(day, sym, n) for (day, sym), n in self.counts.items()],
        )
        written = len(self.rows)
        self.stored += written
        self.rows, self.minutes = [], []
        self.touched.clear()
        self.counts.clear()
        return written


def prune(db: sqlite3.Connection, keep_days: int) -> int:
    """Delete every day but the latest ``keep_days`` that hold ticks; returns the days deleted."""
    kept = db.execute("SELECT DISTINCT day FROM days ORDER BY day DESC LIMIT ?", (keep_days,)).fetchall()
    if not kept:
        return 0
    cutoff_day = kept[-1][0]
    old = db.execute("SELECT count(DISTINCT day) FROM days WHERE day < ?", (cutoff_day,)).fetchone()[0]
    if not old:
        return 0
    cutoff = day_range_ms(cutoff_day)[0]
    db.execute("BEGIN IMMEDIATE")
    try:
        for (sym,) in db.execute("SELECT id FROM symbols").fetchall():
            # Per symbol, so each delete is a range of the key rather than a scan of the table.
            db.execute("DELETE FROM ticks WHERE sym = ? AND t < ?", (sym, cutoff))
            db.execute("DELETE FROM minutes WHERE sym = ? AND m < ?", (sym, cutoff // 60_000))
        db.execute("DELETE FROM days WHERE day < ?", (cutoff_day,))
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return int(old)


class TickWriter:
    """Writes the quotes of a feed to the store at ``path`` from its own thread.

    ``on_error`` gets one line, once, when the store cannot be written (history is then off), and
    ``on_note`` a line about something done for the user (a damaged file moved aside). Both are called
    on the event loop that called :meth:`start` (or in the thread when there is none)."""

    def __init__(
        self,
        path: Path,
        *,
        keep_days: int = DEFAULT_KEEP_DAYS,
        on_error: Callable[[str], object],
        on_note: Callable[[str], object] | None = None,
        interval: float = COMMIT_INTERVAL,
    ) -> None:
        self.path = path
        self.keep_days = keep_days
        self.on_error = on_error
        self.on_note = on_note if on_note is not None else on_error
        self.interval = interval
        #: Why the store is off (None while it works).
        self.failed: str | None = None
        #: Ticks committed, and quotes dropped because the thread fell behind.
        self.stored = 0
        self.dropped = 0
        self._pending: collections.deque[Quote] = collections.deque()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channel: Channel[[Quote]] | None = None

    def write(self, quote: Quote) -> None:
        """Queue one quote (the feed's quote channel calls this for every quote: keep it cheap)."""
        if len(self._pending) < MAX_PENDING and self.failed is None:
            self._pending.append(quote)
        else:
            self.dropped += 1

    def attach(self, channel: Channel[[Quote]]) -> None:
        """Subscribe :meth:`write` to a quote channel (``feed.events.quote``) and start."""
        channel.subscribe(self.write)
        self._channel = channel
        self.start()

    def start(self) -> None:
        if self._thread is not None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="quoteboard-ticks", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is queued and stop (blocks until the thread has committed)."""
        if self._channel is not None:
            self._channel.unsubscribe(self.write)
            self._channel = None
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def flush_now(self) -> None:
        """Ask the thread to commit now rather than at its next interval (tests, a clean exit)."""
        self._wake.set()

    # ----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            db, note = open_for_writing(self.path)
        except StoreError as exc:
            self._fail(f"history off: {exc}")
            return
        if note is not None:
            self._tell(self.on_note, note)
        try:
            prune(db, self.keep_days)
            ingest = Ingest(db)
            while not self.failed:
                self._wake.wait(self.interval)
                self._wake.clear()
                stopping = self._closing
                quotes = self._take()
                if quotes:
                    self._commit(ingest, quotes)
                if stopping:
                    break
        except sqlite3.Error as exc:
            self._fail(f"history off: could not write the tick store {self.path} ({describe_error(exc)})")
            self._pending.clear()
            db.close()
            if is_damage(exc):
                with contextlib.suppress(OSError):
                    move_aside(self.path)
            return
        db.close()

    def _take(self) -> list[Quote]:
        pending = self._pending
        # popleft is atomic: the event loop may append while this runs.
        return [pending.popleft() for _ in range(len(pending))]

    def _commit(self, ingest: Ingest, quotes: Iterable[Quote]) -> None:
        db = ingest.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for quote in quotes:
                ingest.add_quote(quote)
            self.stored += ingest.flush()
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def _fail(self, message: str) -> None:
        if self.failed is None:
            self.failed = message
            self._tell(self.on_error, message)

    def _tell(self, to: Callable[[str], object], message: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: say it here
                loop.call_soon_threadsafe(to, message)
                return
        to(message)
