"""The positions controller: reads the positions, keeps their prices, pins their symbols.

It reads ``GET /positions`` (all products) when a feed starts, every 60 s, and when the view asks
(``u``); the symbols held are pinned for PUSH (:meth:`FeedController.set_pinned
<quoteboard.board.controllers.feed.FeedController.set_pinned>`). Prices come from every quote the
feed decodes, applied to a :class:`~quoteboard.board.positions.PositionBook` in O(1), and the view
is redrawn at most once a frame, only when something changed. A position whose symbol has pushed
nothing yet gets one ``GET /board``.
"""

from __future__ import annotations

from typing import Final

from textual.worker import Worker, WorkerState

from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.model import Board
from quoteboard.board.positions import PositionBook
from quoteboard.board.view import BoardWidgets
from quoteboard.feeds.contract import OffersPositions
from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["RELOAD_SECONDS", "PositionsController"]

#: How often the positions are read again (they change only when orders fill).
RELOAD_SECONDS: Final = 60.0
PINNED_AS: Final = "positions"


class PositionsController:
    """The positions of the current feed's account, drawn by the positions view."""

    def __init__(self, board: Board, feeds: FeedController, widgets: BoardWidgets) -> None:
        self.board = board
        self.feeds = feeds
        self.view = widgets.positions
        self.table = widgets.table
        self.movers = widgets.movers
        self.book: PositionBook = self.view.book

    def start(self) -> None:
        """Price the positions with every quote, read them again with each feed and every minute."""
        self.feeds.quotes.subscribe(self.on_quote)
        self.feeds.started.append(lambda: self.reload(forget=True))
        # The reads run on the view's node: they end with it, not after it has gone (at quit).
        self.view.set_interval(RELOAD_SECONDS, self.reload)

    def toggle(self) -> None:
        """``p``: the positions view in place of the table, or the table again."""
        view = self.view
        showing = not view.display
        view.display = showing
        self.table.display = not showing
        self.movers.display = False  # (p from the movers: the positions take their place)
        if showing:
            view.redraw()
            view.focus()
        else:
            self.table.focus()

    def on_quote(self, quote: Quote) -> None:
        """Every quote the feed decodes: O(1), and nothing drawn here (the frame timer draws)."""
        if quote.last is not None:
            # The plain (code, exchange) tuple finds the SymbolKey entry, as in Board.apply: no
            # Quote.key constructor call for every quote of every symbol.
            exchange = quote.exchange
            self.book.apply((quote.symbol, 1 if exchange is None else exchange), quote.last)  # type: ignore[arg-type]

    def frame(self) -> None:
        """Called by the app's frame clock (a timer of its own would wake the board 20 times a
        second more, shown or not)."""
        if self.book.unpriced:
            # The feed fills the list's rows from REST snapshots without telling the watchers.
            for key in self.book.unpriced_keys():
                self.book.apply(key, self._board_last(key))
        if self.view.display and self.book.take_dirty():
            self.view.redraw()

    def reload_now(self) -> None:
        """``u`` in the view."""
        self._say("reading the positions again…")
        self.reload()

    def reload(self, *, forget: bool = False) -> None:
        """Read the positions again, in a worker; ``forget`` the ones shown first (a new feed's
        station is another account, or none)."""
        if forget:  # (still pinned: the next read pins what the new station holds, as a difference)
            self.book.replace([])
            self._say("reading the positions…")
        self.view.run_worker(self._load(), group="positions", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        feeds = self.feeds
        feed = feeds.feed
        if feed is None:
            self._say("no feed yet: the positions are read once one starts")
            return
        if not isinstance(feed, OffersPositions):
            self._say(f"this feed has no positions: {feed.name} offers quotes only")
            return
        try:
            positions = await feed.positions()
        except KabuError as exc:
            self._say(f"the station refused to list the positions: {exc}")
            return
        except KabuClientError as exc:
            self._say(f"the station cannot be reached, so the positions are not known: {exc}")
            return
        if feeds.feed is not feed:  # a switch of feed while this was on the way
            return
        self.book.replace(positions, last_of=self._board_last)
        feeds.set_pinned(PINNED_AS, self.book.keys)
        note = None if positions else f"no positions: the account on {feed.name} holds nothing"
        self.view.show_loaded(note)
        # Symbols held but not on the list: one snapshot each, as a quiet one may not push for a while
        # (the list's own rows are filled by the feed controller, and read from its board by frame).
        for key in self.book.unpriced_keys():
            if key in self.board.rows:
                continue
            got: list[Quote] = []
            failures = await feed.fetch_boards([key], got.append)
            if failures:
                self._say(f"no price yet for {key}: {failures[0][1]}")
                return
            if got and key in self.book.unpriced_keys():
                self.book.apply(key, got[0].last)

    def load_failed(self, event: Worker.StateChanged) -> None:
        """A read that raised what nothing expected (a bug): say so rather than keep "reading…"."""
        error = event.worker.error
        if event.state is WorkerState.ERROR and event.worker.group == "positions":
            self._say(f"reading the positions failed: unexpected error: {type(error).__name__}: {error}")

    def _board_last(self, key: SymbolKey) -> float | None:
        row = self.board.rows.get(key)
        return row.quote.last if row is not None and row.quote is not None else None

    def _say(self, note: str) -> None:
        self.view.show_note(note)
