"""The movers controller: asks the feed for the station's rankings while the movers view is shown.

The view (``m``) takes the table's place; the ranking chosen is asked at once, again every
:data:`REFRESH_SECONDS` while the view stays shown, and whenever the type or market changes. A mover
added (``a`` / Enter) goes through the lists controller, registered like any add. The answers are
kept in a :class:`~quoteboard.board.movers.MoversBook`, which keeps the last one when the station
clears its ranking before the open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from textual.timer import Timer
from textual.worker import Worker, WorkerState

from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.controllers.lists import ListsController
from quoteboard.board.view import BoardWidgets
from quoteboard.feeds.contract import OffersRanking
from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["REFRESH_SECONDS", "MoversController"]

#: How often the ranking shown is asked again (a relay answers a crowd from its 30 s cache).
REFRESH_SECONDS: Final = 60.0


def _now() -> datetime:
    return datetime.now(JST)


class MoversController:
    """The movers view and the rankings it shows."""

    def __init__(
        self,
        feeds: FeedController,
        lists: ListsController,
        widgets: BoardWidgets,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.feeds = feeds
        self.lists = lists
        self.view = widgets.movers
        self.table = widgets.table
        self.positions = widgets.positions
        self.book = self.view.book
        self._clock = clock
        self._timer: Timer | None = None
        #: Seconds between two asks while the view is shown.
        self.refresh_seconds = REFRESH_SECONDS
        feeds.started.append(self._feed_started)

    def toggle(self) -> None:
        """``m``: the movers in place of the table (or the positions), or the table again."""
        view = self.view
        showing = not view.display
        view.display = showing
        if showing:
            self.positions.display = False
            self.table.display = False
            view.redraw()
            view.focus_table()
            self.ask()
            self._timer = view.set_interval(self.refresh_seconds, self._tick)
        else:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self.table.display = True
            self.table.focus()

    def _tick(self) -> None:
        if self.view.display:
            self.ask()
        elif self._timer is not None:  # hidden by another view taking the table's place (p)
            self._timer.stop()
            self._timer = None

    def _feed_started(self) -> None:
        if self.view.display:  # a new feed (f), or the first one after "no feed yet"
            self.ask()

    def load_failed(self, event: Worker.StateChanged) -> None:
        """An ask that raised what nothing expected (a bug): said in the view, not lost."""
        error = event.worker.error
        if event.state is WorkerState.ERROR and event.worker.group == "movers":
            self.view.show_note(
                f"asking the ranking failed: unexpected error: {type(error).__name__}: {error}"
            )

    def step(self, types: int, markets: int) -> None:
        if types:
            self.book.step_type(types)
        if markets:
            self.book.step_market(markets)
        self.view.show_note(None)
        self.ask()

    def ask(self) -> None:
        """Ask the ranking chosen, in a worker (a newer ask replaces one on the way)."""
        book = self.book
        self.view.run_worker(
            self._load(book.type_number, book.division), group="movers", exclusive=True, exit_on_error=False
        )

    def add(self, key: SymbolKey | None) -> None:
        """``a`` / Enter on a mover: onto the list shown, registered like any add."""
        if key is None:
            what = "a sector index" if self.book.kind.sectors else "nothing highlighted"
            self.view.show_note(f"nothing to add: {what}")
            return
        board = self.lists.board
        there = key in board
        self.lists.add(key)  # (it focuses the table, out of sight while the movers are shown)
        shown = self.lists.lists.shown
        if there:
            self.view.show_note(f"{key} is already on the list {shown!r}")
        elif key in board:
            self.view.show_note(f"{key} added to the list {shown!r}")
        else:  # the panel says why (the symbol limit)
            self.view.show_note(f"{key} not added to the list {shown!r}: at the symbol limit")
        self.view.focus_table()

    async def _load(self, type_number: int, division: str) -> None:
        feed = self.feeds.feed
        if feed is None:
            self.view.show_note("no feed yet: the movers are asked once one starts")
            return
        if not isinstance(feed, OffersRanking):
            self.view.show_note(f"this feed has no rankings: {feed.name} offers quotes only")
            return
        try:
            ranking = await feed.ranking(type_number, division)
        except KabuError as exc:
            self.view.show_note(f"the station refused the ranking: {exc}")
            return
        except KabuClientError as exc:
            self.view.show_note(f"the station cannot be reached, so no ranking: {exc}")
            return
        self.book.take(ranking, self._clock())
        self.view.show_note(None)
