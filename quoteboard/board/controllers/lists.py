"""The watchlists controller: the lists, the one shown, and the symbols added to it and removed.

The board's rows are the shown list's. Showing another list replaces the rows (those seen before at
once, with their last quotes) and the station gets the difference; every change is saved as it is
made (not for a replay's board, which has no store). The last list deleted is kept until quit, so
that a slip of the palette can be undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, Final

from textual.app import App

from quoteboard.board.controllers.feed import FeedController
from quoteboard.board.model import Board
from quoteboard.board.view import BoardWidgets
from quoteboard.board.widgets.list_name_screen import ListNameScreen
from quoteboard.board.widgets.quote_table import SORT_MODES
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.store.watchlist import MAIN, LoadResult, Watchlist, Watchlists, WatchlistStore

__all__ = ["DEMO_WATCHLIST", "ListsController"]

#: What the demo opens with when nothing is saved: well-known TSE names.
DEMO_WATCHLIST: Final = tuple(
    SymbolKey(code) for code in ("7203", "9433", "9984", "8306", "7974", "6861", "4063", "6501")
)


class ListsController:
    """Every watchlist, ``store`` None neither reading nor writing them (a replay's board)."""

    def __init__(
        self,
        host: App[Any],
        board: Board,
        widgets: BoardWidgets,
        feeds: FeedController,
        *,
        store: WatchlistStore | None,
        list_name: str | None,
        extra_symbols: Iterable[SymbolKey],
    ) -> None:
        self.host = host
        self.board = board
        self.table = widgets.table
        self.panel = widgets.panel
        self._tabs = widgets.tabs
        self.feeds = feeds
        #: Every watchlist and the one shown (the board's rows are the shown one's).
        self.lists = Watchlists()
        #: None: a board that neither reads nor writes the saved watchlist (a replay's).
        self._store = store
        #: ``--list NAME``: the list to open, made if it does not exist.
        self._list_name = list_name
        self._extra_symbols = list(extra_symbols)
        #: The last list deleted, kept until quit so that a slip of the palette can be undone.
        self.deleted: tuple[str, Watchlist] | None = None
        self._save_error: str | None = None

    def load(self) -> None:
        """The saved lists, the one asked for shown (``--list``), with the symbols given on the
        command line; the demo's symbols when nothing is saved."""
        loaded = self._store.load() if self._store is not None else LoadResult(Watchlists())
        self.lists = loaded.lists
        # Nothing saved yet: the demo may fill the one list (a list asked for by name starts empty).
        fresh = self.lists == Watchlists() and self._list_name in (None, MAIN)
        self._open_named_list()
        keys = list(self.lists.current.symbols)
        for key in self._extra_symbols:
            if key not in keys:
                keys.append(key)
        kind = self.feeds.source.kind
        starting_with = "the symbols given" if keys else "an empty watchlist"
        if not keys and kind == "demo" and fresh:
            keys = list(DEMO_WATCHLIST)
            starting_with = "the demo's watchlist"
        elif not keys and kind == "replay":
            self.feeds.say("the recording names no symbol: press a to add one", "error")
        # Said once the rows are decided: a damaged file's notice says what the board shows instead.
        notice = loaded.notice(starting_with)
        if notice:
            self.host.notify(notice, title="watchlist", severity="warning", timeout=12)
        for key in keys:  # all of them: those past the cap are marked, not dropped
            self.board.add(key)
        sort = self.lists.current.sort
        self.table.sort_mode = sort if sort in SORT_MODES else "added"
        self.table.sync_rows()
        self.feeds.mark_over_cap()
        self._show_tabs()
        self.save()
        self.table.focus()
        if not keys:
            self.feeds.say("the watchlist is empty: press a and type a code such as 7203")

    def _open_named_list(self) -> None:
        """``--list NAME``: show that list, made empty if there is none of that name."""
        name = self._list_name
        if name is None or name == self.lists.shown:
            return
        if name not in self.lists.lists:
            problem = self.lists.problem_with_name(name)
            if problem is not None:
                self.host.notify(
                    f"--list {name!r} not opened: {problem}", title="watchlist", severity="error"
                )
                return
            self.lists.create(name)
        self.lists.shown = name

    def _show_tabs(self) -> None:
        self._tabs.show(self.lists.names, self.lists.shown)

    # -- add / remove ----------------------------------------------------------------------------

    def add(self, key: SymbolKey) -> None:
        """A code typed in the panel: a row, registered in a worker."""
        feeds = self.feeds
        self.table.focus()
        if key in self.board:
            self.table.move_cursor_to(key)
            feeds.say(f"{key} is already on the board")
            return
        if len(feeds.watched_keys()) >= feeds.max_symbols:
            feeds.say(f"{key} not added: 4002006 over the symbol limit: at most {feeds.max_symbols} symbols",
                      "error")  # fmt: skip
            return
        previous = self.table.cursor_key
        self.board.add(key)
        self.table.sync_rows()
        self.table.move_cursor_to(key)
        self.save()
        if feeds.feed is not None:
            feeds.say(f"registering {key}…")
            feeds.spawn(partial(feeds.register_symbol, feeds.feed, key, previous), "register")

    def remove(self) -> None:
        """The highlighted row off the list; unregistered unless something else keeps it."""
        feeds = self.feeds
        key = self.table.cursor_key
        if key is None:
            feeds.say("nothing to remove: the board is empty")
            return
        refused = self.board.rows[key].note is not None
        over = feeds.over_cap() > 0
        feeds.drop(key)
        if refused:  # the station never registered it: nothing to unregister
            feeds.say(f"{key} removed")
        elif over and feeds.feed is not None:  # a row past the cap now fits: both ways at once
            feeds.say(f"{key} removed")
            feeds.sync_registration()
        elif key in feeds.watched_keys():  # an armed alert or a position keeps it registered
            feeds.say(f"{key} removed from the list; still registered for its alerts or position")
        elif feeds.feed is not None:
            feeds.unregister_symbol(feeds.feed, key)

    def cycle_sort(self) -> None:
        table = self.table
        table.sort_mode = SORT_MODES[(SORT_MODES.index(table.sort_mode) + 1) % len(SORT_MODES)]
        self.save()
        self.feeds.update_status()

    def _keep_shown(self) -> None:
        """The shown list takes the board's rows and the table's sort (in memory)."""
        self.lists.lists[self.lists.shown] = Watchlist(list(self.board.rows), self.table.sort_mode)

    def save(self) -> None:
        self._keep_shown()  # saved or not (a replay's board), the lists follow the board
        if self._store is None:
            return
        error = self._store.save(self.lists)
        if error and error != self._save_error:
            self.host.notify(error, title="watchlist not saved", severity="error", timeout=12)
        self._save_error = error

    # -- several watchlists ------------------------------------------------------------------------

    def show_list(self, name: str, *, keep: bool = True) -> None:
        """Show the list ``name``: its rows (those seen before at once, with their last quotes), its
        sort; the station gets the difference. ``keep``: the list leaving keeps the board's rows and
        sort (not when it was just deleted)."""
        if keep:
            self._keep_shown()
        self.lists.shown = name
        watchlist = self.lists.current
        self.board.replace(watchlist.symbols)
        feed = self.feeds.feed
        if feed is not None:  # refused before on this feed: said again, not asked again
            for key, exc in feed.registry.refused.items():
                self.board.refuse(key, f"not registered on {feed.name}: {exc}")
        self.table.sort_mode = watchlist.sort
        self.table.sync_rows()
        if self.board.rows:
            self.table.move_cursor_to(next(iter(self.table.order)))
        cursor = self.table.cursor_key
        self.panel.show_row(self.board.rows.get(cursor) if cursor is not None else None)
        self.feeds.mark_over_cap()
        self._show_tabs()
        self.save()
        self.feeds.update_status()
        self.feeds.sync_registration()

    def select(self, name: str) -> None:
        """A tab clicked."""
        if name in self.lists.lists:
            self.show_list(name)

    def step(self, offset: int) -> None:
        names = self.lists.names
        if len(names) < 2:
            self.feeds.say("only one list: press n to make another")
            return
        self.show_list(names[(names.index(self.lists.shown) + offset) % len(names)])

    def new(self) -> None:
        def made(name: str | None) -> None:
            if name:
                self.lists.create(name)
                self.show_list(name)
                self.feeds.say(f"list {name!r} made: press a to add symbols")

        self.host.push_screen(ListNameScreen("Name of the new list", self.lists.problem_with_name), made)

    def rename(self) -> None:
        old = self.lists.shown

        def check(name: str) -> str | None:
            return self.lists.problem_with_name(name, renaming=old)

        def renamed(name: str | None) -> None:
            if name and name != old:
                self.lists.rename(old, name)
                self._show_tabs()
                self.save()
                self.feeds.say(f"list {old!r} renamed {name!r}")

        self.host.push_screen(ListNameScreen(f"New name for the list {old!r}", check, old), renamed)

    def delete(self) -> None:
        name = self.lists.shown
        if len(self.lists.lists) < 2:
            self.feeds.say("the last list cannot be deleted", "error")
            return
        self._keep_shown()
        self.deleted = (name, self.lists.lists[name])
        self.lists.delete(name)
        self.show_list(self.lists.shown, keep=False)
        self.feeds.say(f'list {name!r} deleted: Ctrl+P "Restore list" brings it back')

    def restore(self) -> None:
        """Bring back the list deleted last, and show it."""
        if self.deleted is None:
            self.feeds.say("no deleted list to restore")
            return
        name, watchlist = self.deleted
        problem = self.lists.problem_with_name(name)
        if problem is not None:  # a new list took its name meanwhile
            self.feeds.say(f"list {name!r} not restored: {problem}; rename that one first", "error")
            return
        self.deleted = None
        self.lists.create(name, watchlist)
        self.show_list(name)
        self.feeds.say(f"list {name!r} restored")
