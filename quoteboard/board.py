"""The board state: the latest quote per watched symbol, short price histories, and what changed.

This is where the data path lands: ``socket -> protocol.decode_frame -> Board.apply``. ``apply`` is
on the hot path (up to thousands of calls a second), so it does the least it can: store the quote,
note the price move, mark the row dirty. The screen drains the dirty set once a frame
(:meth:`Board.take_dirty`), so a flood of quotes for one symbol costs one repaint: the latest quote
wins. Histories are bounded deques, so memory stays flat however long the board runs.
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
        for key in keys:
            self.add(key)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def add(self, key: SymbolKey) -> Row:
        """Watch ``key``. Adding a watched key returns its row unchanged."""
        row = self.rows.get(key)
        if row is None:
            self._order += 1
            row = self.rows[key] = Row(key, self._order, self._history)
            self._dirty.add(key)
        return row

    def refuse(self, key: SymbolKey, why: str) -> None:
        """Mark ``key`` as refused by the station (it stays on the board, and on the watchlist)."""
        row = self.rows.get(key)
        if row is not None:
            row.note = why
            self._dirty.add(key)

    def remove(self, key: SymbolKey) -> bool:
        """Stop watching ``key``; returns whether it was watched."""
        self._dirty.discard(key)
        return self.rows.pop(key, None) is not None

    def apply(self, quote: Quote) -> bool:
        """Store a decoded quote. Returns False (and counts it) if its symbol is not watched."""
        self.last_message_at = quote.received_at or time.time()
        # Found with the plain tuple (code, exchange) that equals the row's SymbolKey and hashes like
        # it: built without a call, where Quote.key (the same rule: no exchange is the TSE) costs a
        # property and a constructor call. This runs for every quote.
        exchange = quote.exchange
        row = self.rows.get((quote.symbol, 1 if exchange is None else exchange))  # type: ignore[call-overload]
        if row is None:
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
