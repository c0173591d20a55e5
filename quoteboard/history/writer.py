"""Writing the tick store: quotes in from the event loop, rows out to SQLite from one thread.

:class:`TickWriter` subscribes to a feed's quote channel: the event loop only appends the eight
fields the store keeps of each quote to a bounded queue (never the quote: a few thousand quotes kept
alive, 3.7 KB each with their book, cost the feed a fifth of its rate in the CPU's caches). A thread
takes them every :data:`COMMIT_INTERVAL` seconds, keeps the quotes
whose price or cumulative volume changed (as :func:`~quoteboard.history.source.tick_of` reads them),
and commits them with their minutes' candles in one transaction: a crash loses at most the last
interval. While the feed runs the thread works at most :data:`DUTY` of the time, so a flood far beyond
Kabu's pace waits in the queue rather than slow the feed (and a crash then loses what waits).

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
import itertools
import operator
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from quoteboard.history.candles import Tick
from quoteboard.history.source import station_time, tick_of
from quoteboard.history.store import (
    PRICE_SCALE,
    VWAP_PER_PRICE,
    VWAP_SCALE,
    StoreError,
    day_range_ms,
    describe_error,
    is_damage,
    move_aside,
    open_for_writing,
    transaction,
)
from quoteboard.kabu.protocol import Quote

if TYPE_CHECKING:
    from quoteboard.feeds.contract import Channel

__all__ = [
    "COMMIT_INTERVAL",
    "DEFAULT_KEEP_DAYS",
    "DUTY",
    "FIELDS",
    "MAX_PENDING",
    "Ingest",
    "TickWriter",
    "prune",
]

#: Seconds between commits: what a crash of the writer can lose at most.
COMMIT_INTERVAL: Final = 0.5
#: Trading days kept (days that hold ticks); older ones are deleted when the writer starts.
DEFAULT_KEEP_DAYS: Final = 20
#: Quotes that may wait for the thread (80 s of Kabu at its peak, some 3 MB of fields); beyond that the
#: oldest go, and it is said once (a feed far beyond what the thread takes while the feed runs).
MAX_PENDING: Final = 10_000
#: The share of each commit interval the thread works while the feed runs, so that it never takes
#: the interpreter from the feed: some 3,000 quotes a second, 25 times Kabu at its peak. Past that
#: the quotes wait (and are written flat out on close).
DUTY: Final = 0.02
#: Quotes taken from the queue between two looks at the clock.
CHUNK: Final = 500
#: Rows a statement of a flush inserts (within SQLite's oldest limit of 999 values a statement).
ROWS_A_STATEMENT: Final = 80
#: What the queue keeps of a quote: a small tuple rather than the whole board.
FIELDS: Final = operator.attrgetter("symbol", "exchange", "last", "time", "volume", "vwap", "bid", "ask")
Fields = tuple[str, "int | None", "float | None", "str | None", "float | None", "float | None",
               "float | None", "float | None"]  # fmt: skip
_JST_MS: Final = 9 * 3600 * 1000
_DAY_MS: Final = 86_400_000

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
        #: Every (day, symbol id) written since this was made.
        self.days_written: set[tuple[int, int]] = set()
        self.stored = 0
        self._times: dict[str, int] = {}

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
        return self._keep(
            key, round(tick.time * 1000), tick.price, tick.volume, tick.vwap, tick.bid, tick.ask
        )

    def add_quote(self, quote: Quote) -> bool:
        tick = tick_of(quote)
        if tick is None:
            return False
        return self.add((quote.symbol, 1 if quote.exchange is None else quote.exchange), tick)

    def add_fields(self, fields: Fields) -> bool:
        """:meth:`add_quote` for what :meth:`TickWriter.write` kept of a quote, without making the
        quote and its tick again; each station time is read once (Kabu's have whole seconds, so
        many quotes share one)."""
        code, exchange, last, when, volume, vwap, bid, ask = fields
        if last is None or when is None:
            return False
        t = self._times.get(when)
        if t is None:
            seconds = station_time(when)
            if seconds is None:
                return False
            if len(self._times) >= 4096:
                self._times.clear()
            t = self._times[when] = round(seconds * 1000)
        return self._keep((code, 1 if exchange is None else exchange), t, last, volume, vwap, bid, ask)

    def _keep(
        self,
        key: tuple[str, int],
        t: int,
        last: float,
        volume: float | None,
        vwap: float | None,
        bid: float | None,
        ask: float | None,
    ) -> bool:
        """The stored columns: time in ms, price in hundredths, the VWAP, bid and ask as distances."""
        symbol = self.symbols.get(key) or self.symbol(key)
        price = round(last * PRICE_SCALE)
        kept = symbol.accept(t, price, volume)
        if kept is None:
            return False
        scaled = None if vwap is None else round(vwap * VWAP_SCALE)
        self.rows.append((
            symbol.sym, kept, price, volume,
            None if scaled is None else scaled - price * VWAP_PER_PRICE,
            None if bid is None else price - round(bid * PRICE_SCALE),
            None if ask is None else round(ask * PRICE_SCALE) - price,
        ))  # fmt: skip
        closed = symbol.add(kept, price, volume, scaled)
        if closed is not None:
            self.minutes.append(closed)
        self.touched[symbol.sym] = symbol
        self.counts[((kept + _JST_MS) // _DAY_MS, symbol.sym)] += 1
        return True

    def flush(self) -> int:
        """Write the pending rows (in the caller's transaction); returns how many ticks."""
        db = self.db
        minutes = self.minutes + [symbol.row() for symbol in self.touched.values()]
        insert_rows(db, "INSERT OR IGNORE INTO ticks VALUES ", self.rows, 7)
        insert_rows(db, "INSERT OR REPLACE INTO minutes VALUES ", minutes, 11)
        db.executemany(
            "INSERT INTO days VALUES (?, ?, ?)"
            " ON CONFLICT (day, sym) DO UPDATE SET ticks = ticks + excluded.ticks",
            [(day, sym, n) for (day, sym), n in self.counts.items()],
        )
        written = len(self.rows)
        self.stored += written
        self.days_written.update(self.counts)
        self.rows, self.minutes = [], []
        self.touched.clear()
        self.counts.clear()
        return written


def insert_rows(db: sqlite3.Connection, head: str, rows: Sequence[tuple[object, ...]], width: int) -> None:
    """``executemany`` of ``head`` + one row's values, :data:`ROWS_A_STATEMENT` rows a statement.

    sqlite3 lets go of the interpreter around each step of a statement, and takes it back from the
    feed's thread, a forced switch each time: a row a step made a flush of a few thousand rows cost the
    feed a fifth of its rate under a flood."""
    if not rows:
        return
    values = "(" + ", ".join("?" * width) + ")"
    whole = len(rows) - len(rows) % ROWS_A_STATEMENT
    if whole:
        many = head + ", ".join([values] * ROWS_A_STATEMENT)
        chunks = range(0, whole, ROWS_A_STATEMENT)
        db.executemany(
            many, (tuple(itertools.chain.from_iterable(rows[i : i + ROWS_A_STATEMENT])) for i in chunks)
        )
    if whole < len(rows):
        rest = rows[whole:]
        db.execute(head + ", ".join([values] * len(rest)), tuple(itertools.chain.from_iterable(rest)))


def clear(db: sqlite3.Connection) -> None:
    """Delete every tick, candle and symbol the store holds."""
    with transaction(db):
        for table in ("ticks", "minutes", "days", "symbols"):
            db.execute(f"DELETE FROM {table}")  # (the schema's own names)


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
    with transaction(db):
        for (sym,) in db.execute("SELECT id FROM symbols").fetchall():
            # Per symbol, so each delete is a range of the key rather than a scan of the table.
            db.execute("DELETE FROM ticks WHERE sym = ? AND t < ?", (sym, cutoff))
            db.execute("DELETE FROM minutes WHERE sym = ? AND m < ?", (sym, cutoff // 60_000))
        db.execute("DELETE FROM days WHERE day < ?", (cutoff_day,))
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
        fresh: bool = False,
    ) -> None:
        self.path = path
        self.keep_days = keep_days
        #: Start from an empty store: the demo's, whose market is made up anew by each run.
        self.fresh = fresh
        self.on_error = on_error
        self.on_note = on_note if on_note is not None else on_error
        self.interval = interval
        #: Why the store is off (None while it works).
        self.failed: str | None = None
        #: Ticks committed; whether quotes were lost because the thread fell behind.
        self.stored = 0
        self.behind = False
        self._pending: collections.deque[Fields] = collections.deque(maxlen=MAX_PENDING)
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channel: Channel[[Quote]] | None = None
        self._append = self._pending.append

    def write(self, quote: Quote) -> None:
        """Queue one quote (the feed's quote channel calls this for every quote: keep it cheap)."""
        self._append(FIELDS(quote))

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
            if self.fresh:
                clear(db)
            else:
                prune(db, self.keep_days)
            ingest = Ingest(db)
            while not self.failed:
                self._wake.wait(self.interval)
                self._wake.clear()
                stopping = self._closing
                # Flat out once closing: nothing is left to give the interpreter to.
                self._commit(ingest, None if stopping else self.interval * DUTY)
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
        except Exception as exc:  # a bug: said like the rest, rather than a traceback on the board
            self._fail(f"history off: unexpected error: {type(exc).__name__}: {exc}")
            db.close()
            return
        db.close()

    def _commit(self, ingest: Ingest, budget: float | None) -> None:
        """One transaction: the queued quotes, or those ``budget`` seconds of work take."""
        pending = self._pending
        if not pending:
            return
        if len(pending) == pending.maxlen and not self.behind:
            self.behind = True
            self._tell(self.on_note, f"history behind: {MAX_PENDING:,} quotes wait for {self.path}; "
                                     "older ones are not kept while the feed is this fast")  # fmt: skip
        with transaction(ingest.db):
            start = time.perf_counter()
            while pending:
                # popleft is atomic: the event loop may append while this runs.
                for fields in [pending.popleft() for _ in range(min(CHUNK, len(pending)))]:
                    ingest.add_fields(fields)
                if budget is not None and time.perf_counter() - start >= budget:
                    break
            self.stored += ingest.flush()

    def _fail(self, message: str) -> None:
        if self.failed is None:
            self.failed = message
            self._tell(self._stopped, message)

    def _stopped(self, message: str) -> None:
        """History is off: no more quotes are taken (on the event loop, as the channel is)."""
        if self._channel is not None:
            self._channel.unsubscribe(self.write)
            self._channel = None
        self._pending.clear()
        self.on_error(message)

    def _tell(self, to: Callable[[str], object], message: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: say it here
                loop.call_soon_threadsafe(to, message)
                return
        to(message)
