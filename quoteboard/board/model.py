"""The board state: the latest quote per watched symbol, short price histories, and what changed.

This is where the data path lands: ``socket -> protocol.decode_frame -> Board.apply``. ``apply`` is
on the hot path (up to thousands of calls a second), so it does the least it can: store the quote,
note the price move, mark the row dirty. The screen drains the dirty set once a frame
(:meth:`Board.take_dirty`), so a flood of quotes for one symbol costs one repaint: the latest quote
wins. Histories are bounded deques, so memory stays flat however long the board runs.

A row taken off the board (its list switched away, its symbol removed) is parked, quote and history
included, in a bounded cache: when it comes back it shows its last quote at once. Quotes for symbols
registered for someone else (:attr:`Board.pinned`: alerts, positions) keep their parked rows fresh
and are not counted as strays. Both happen off the path of a quote for a row on the board.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Final

from quoteboard.kabu.protocol import Quote, Rejection, SymbolKey

__all__ = ["Board", "Row"]

HISTORY: Final = 120
FLASH_SECONDS: Final = 0.5
#: Rows kept off the board for when their symbol comes back (a few lists' worth).
PARKED: Final = 256


class Row:
    """One watched symbol: its latest quote and how its price last moved."""

    __slots__ = (
        "changed_at",
        "direction",
        "history",
        "key",
        "note",
        "order",
        "quote",
        "updated_at",
        "updates",
    )

    def __init__(self, key: SymbolKey, order: int, history: int = HISTORY) -> None:
        self.key = key
        self.order = order
        self.quote: Quote | None = None
        #: +1 the last price change was up, -1 down, 0 none yet.
        self.direction = 0
        #: ``time.monotonic()`` of the last price change (the screen flashes the cell after it).
        self.changed_at = 0.0
        #: ``time.monotonic()`` of the last quote.
        self.updated_at = 0.0
        self.updates = 0
        self.history: deque[float] = deque(maxlen=history)
        #: Why a row has no quote, when it is not just early: the station refused the symbol.
        self.note: str | None = None

    def flashing(self, now: float) -> bool:
        return now - self.changed_at < FLASH_SECONDS


class Board:
    """Latest quote per symbol for the symbols on the watchlist, in the order they were added."""

    def __init__(self, keys: Iterable[SymbolKey] = (), history: int = HISTORY) -> None:
        self._history = history
        self._order = 0
        self.rows: dict[SymbolKey, Row] = {}
        self._dirty: set[SymbolKey] = set()
        #: Quotes applied to a watched row, quotes for symbols not on the board, rejected frames.
        self.received = 0
        self.unwatched = 0
        self.rejected = 0
        self.last_rejection: Rejection | None = None
        #: Wall-clock time (``time.time()``) of the last frame of any kind, None before the first.
        self.last_message_at: float | None = None
        #: Symbols registered though not on the board (alerts', positions'): their quotes are
        #: expected, so they are parked rather than counted in :attr:`unwatched`.
        self.pinned: frozenset[SymbolKey] = frozenset()
        #: Rows off the board, oldest first, at most ``parked`` of them.
        self._parked: dict[SymbolKey, Row] = {}
        self._parked_max = PARKED
        for key in keys:
            self.add(key)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def add(self, key: SymbolKey) -> Row:
        """Watch ``key``. Adding a watched key returns its row unchanged; a key seen before comes
        back with its last quote and history."""
        row = self.rows.get(key)
        if row is None:
            self._order += 1
            row = self._parked.pop(key, None)
            if row is None:
                row = Row(key, self._order, self._history)
            else:
                row.order = self._order
                row.note = None
                row.changed_at = 0.0  # no flash for a price that moved while it was away
            self.rows[key] = row
            self._dirty.add(key)
        return row

    def refuse(self, key: SymbolKey, why: str) -> None:
        """Mark ``key`` as refused by the station (it stays on the board, and on the watchlist)."""
        row = self.rows.get(key)
        if row is not None:
            row.note = why
            self._dirty.add(key)

    def remove(self, key: SymbolKey) -> bool:
        """Stop watching ``key`` (its row is parked); returns whether it was watched."""
        self._dirty.discard(key)
        row = self.rows.pop(key, None)
        if row is None:
            return False
        if row.quote is not None:
            self._park(row)
        return True

    def replace(self, keys: Iterable[SymbolKey]) -> None:
        """Show ``keys`` (another list) in place of the rows on the board, in that order."""
        for key in list(self.rows):
            self.remove(key)
        self._order = 0
        for key in keys:
            self.add(key)

    def parked(self, key: SymbolKey) -> Row | None:
        """The row of ``key`` while it is off the board, if it had a quote."""
        return self._parked.get(key)

    def _park(self, row: Row) -> None:
        parked = self._parked
        parked.pop(row.key, None)
        parked[row.key] = row
        if len(parked) > self._parked_max:
            del parked[next(iter(parked))]  # the longest parked

    def _apply_pinned(self, key: SymbolKey, quote: Quote) -> None:
        """A quote for a symbol registered off the board: its parked row keeps up, cheaply."""
        row = self._parked.get(key)
        if row is None:
            row = Row(key, 0, self._history)
            self._park(row)
        last = quote.last
        if last is not None:
            old = row.quote.last if row.quote is not None else None
            if old is not None and last != old:
                row.direction = 1 if last > old else -1
            if old != last or not row.history:
                row.history.append(last)
        row.quote = quote

    def apply(self, quote: Quote) -> bool:
        """Store a decoded quote. Returns False if its symbol has no row: a pinned symbol's quote is
        kept with its parked row, any other is counted in :attr:`unwatched`."""
        self.last_message_at = quote.received_at or time.time()
        # Found with the plain tuple (code, exchange) that equals the row's SymbolKey and hashes like
        # it: built without a call, where Quote.key (the same rule: no exchange is the TSE) costs a
        # property and a constructor call. This runs for every quote.
        exchange = quote.exchange
        key = (quote.symbol, 1 if exchange is None else exchange)
        row = self.rows.get(key)  # type: ignore[call-overload]
        if row is None:
            if key in self.pinned:
                self._apply_pinned(SymbolKey(*key), quote)
            else:
                self.unwatched += 1
            return False
        self.received += 1
        now = time.monotonic()
        last = quote.last
        previous = row.quote
        if last is not None:
            old = previous.last if previous is not None else None
            if old is not None and last != old:
                row.direction = 1 if last > old else -1
                row.changed_at = now
            elif old is None and quote.tick:
                row.direction = quote.tick
            if old != last or not row.history:
                row.history.append(last)
        row.quote = quote
        row.updated_at = now
        row.updates += 1
        self._dirty.add(row.key)
        return True

    def forget_quotes(self) -> None:
        """Keep the rows but drop their quotes and histories (a new feed starts from nothing)."""
        for key, row in list(self.rows.items()):
            self.rows[key] = Row(key, row.order, self._history)
            self._dirty.add(key)
        self._parked.clear()
        self.last_message_at = None

    def reject(self, rejection: Rejection) -> None:
        """Count a frame that could not be decoded."""
        self.rejected += 1
        self.last_rejection = rejection
        self.last_message_at = time.time()

    def take_dirty(self) -> set[SymbolKey]:
        """The keys changed since the last call (each once, however many quotes came)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def mark_dirty(self, key: SymbolKey) -> None:
        if key in self.rows:
            self._dirty.add(key)
