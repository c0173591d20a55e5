"""Positions and their P&L at the latest prices, without I/O or Textual.

P&L in yen is ``(last - average) x quantity`` for a long and ``(average - last) x quantity`` for a
short; in % it is that over what the position cost (``average x quantity``). A :class:`PositionBook`
holds the positions ``GET /positions`` gave and applies each new last price in O(1): rows are indexed
by :class:`~quoteboard.kabu.protocol.SymbolKey` (a symbol may have several margin lots, each a row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from quoteboard.kabu.positions import Position
from quoteboard.kabu.protocol import SymbolKey

__all__ = ["PositionBook", "PositionRow", "Totals", "profit_loss"]


def profit_loss(position: Position, last: float) -> float:
    """P&L in yen of ``position`` at ``last``."""
    if position.long:
        return (last - position.price) * position.qty
    return (position.price - last) * position.qty


@dataclass(slots=True)
class PositionRow:
    """One position and its last price (None until one is known)."""

    position: Position
    last: float | None = None

    @property
    def pnl(self) -> float | None:
        return profit_loss(self.position, self.last) if self.last is not None else None

    @property
    def pnl_pct(self) -> float | None:
        pnl, cost = self.pnl, self.position.price * self.position.qty
        return 100 * pnl / cost if pnl is not None and cost else None


@dataclass(frozen=True, slots=True)
class Totals:
    """The sum over the rows: P&L in yen and % of what they cost. ``unpriced`` rows (no last price
    yet) are left out of both, and counted."""

    pnl: float
    cost: float
    unpriced: int

    @property
    def pnl_pct(self) -> float | None:
        return 100 * self.pnl / self.cost if self.cost else None


class PositionBook:
    """The positions on show, their last prices, and whether anything changed since :meth:`take_dirty`."""

    def __init__(self) -> None:
        self.rows: list[PositionRow] = []
        self._by_key: dict[SymbolKey, list[PositionRow]] = {}
        self._dirty = False
        #: Symbols (not rows) without a last price yet.
        self.unpriced = 0

    def replace(
        self, positions: Iterable[Position], last_of: Callable[[SymbolKey], float | None] = lambda key: None
    ) -> None:
        """Show ``positions`` instead; their last prices start from ``last_of(key)`` (the board's, or
        the last price this book had for that symbol)."""
        known = {key: rows[0].last for key, rows in self._by_key.items() if rows[0].last is not None}
        self.rows = []
        self._by_key = {}
        for position in positions:
            key = position.key
            last = known.get(key)
            if last is None:
                last = last_of(key)
            row = PositionRow(position, last)
            self.rows.append(row)
            self._by_key.setdefault(key, []).append(row)
        self.unpriced = len(self.unpriced_keys())
        self._dirty = True

    @property
    def keys(self) -> list[SymbolKey]:
        """The symbols held, each once, in the order of the rows."""
        return list(self._by_key)

    def apply(self, key: SymbolKey, last: float | None) -> None:
        """A new last price for ``key`` (O(1): a dict lookup, then that symbol's rows)."""
        rows = self._by_key.get(key)
        if rows is None or last is None or rows[0].last == last:
            return
        if rows[0].last is None:
            self.unpriced -= 1
        for row in rows:
            row.last = last
        self._dirty = True

    def unpriced_keys(self) -> list[SymbolKey]:
        """The symbols held that have no last price yet."""
        return [key for key, rows in self._by_key.items() if rows[0].last is None]

    def take_dirty(self) -> bool:
        """Whether a price or the positions changed since the last call."""
        dirty, self._dirty = self._dirty, False
        return dirty

    def totals(self) -> Totals:
        pnl = cost = 0.0
        unpriced = 0
        for row in self.rows:
            row_pnl = row.pnl
            if row_pnl is None:
                unpriced += 1
                continue
            pnl += row_pnl
            cost += row.position.price * row.position.qty
        return Totals(pnl, cost, unpriced)
