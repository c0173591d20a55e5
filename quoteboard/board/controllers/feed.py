"""The feed controller: the feed's lifecycle, what is registered, and the status model.

The data path is ``Feed._pump -> decode_frame -> Board.apply`` inside the feed worker (same event
loop, no queue); the app's 20 Hz frame clock then calls :meth:`FeedController.draw`, which drains
``Board.take_dirty()`` into the table, repainting only the rows that changed. REST calls (register,
unregister, the first board snapshot) run in workers, never in a handler, and their outcome is said
in words in the register panel (an :class:`~quoteboard.board.view.Outcome`).

Switching feed (``f``) cancels the old feed's workers as a group, closes its socket (and the embedded
server) and registers the same watchlist on the next source. The station gets the union of the list
on screen and the symbols pinned by the alerts and the positions, to Kabu's cap.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from textual.app import App
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from quoteboard.board.controllers.keeping import FeedKeeping
from quoteboard.board.model import Board
from quoteboard.board.view import BoardWidgets, Outcome
from quoteboard.board.widgets.password_screen import PasswordScreen
from quoteboard.board.widgets.register_panel import Tone
from quoteboard.board.widgets.status_bar import StatusSnapshot
from quoteboard.feeds.contract import Channel, Feed, FeedStatus
from quoteboard.feeds.event_watch import EventWatch
from quoteboard.feeds.facts import StationFacts
from quoteboard.feeds.source import FeedSource
from quoteboard.history.keeping import HistoryOptions
from quoteboard.history.remote import served_history
from quoteboard.history.source import CandleSource
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE, KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.secret import Secret

if TYPE_CHECKING:
    from quoteboard.server import TestServer

__all__ = ["OVER_CAP_NOTE", "FeedController"]

#: The detail panel follows its symbol at most this often (several times a second is plenty to read).
PANEL_SECONDS: Final = 0.2
#: The note on a row of the list on screen past the cap (the station is not asked for it).
OVER_CAP_NOTE: Final = (
    "not registered: over Kabu's limit of {cap} symbols (list on screen, alerts, positions)"
)


class FeedController:
    """The current feed of ``sources`` (the first started), feeding ``board``.

    ``host`` is the app its workers run in (one group per feed, cancelled together); ``save`` keeps
    the watchlist once a symbol the station refused is taken off the board.
    """

    def __init__(
        self,
        host: App[Any],
        board: Board,
        widgets: BoardWidgets,
        *,
        sources: Sequence[FeedSource],
        max_symbols: int,
        record: Path | None,
        save: Callable[[], None],
        event_command: list[str] | None = None,
        history: HistoryOptions | None = None,
    ) -> None:
        self.host = host
        self.board = board
        #: ``--event-command``'s watch, following whichever feed runs.
        self.events = (
            None
            if event_command is None
            else EventWatch(command=event_command, on_failure=self._event_failed)
        )
        self.table = widgets.table
        self.panel = widgets.panel
        self.status_bar = widgets.status_bar
        self._save = save
        self._sources = list(sources)
        self._source_index = 0
        self._keeping = FeedKeeping(host, record, history)
        #: Where a chart reads this feed's candles (None: nowhere): the tick store this board writes,
        #: or behind a relay (or on NATS) the relay's (served_history).
        self.history: CandleSource | None = None
        self.max_symbols = max_symbols
        self.feed: Feed | None = None
        self._feed_worker: Worker[None] | None = None
        #: Every worker of one feed is in this group, cancelled together when the feed goes.
        self._group = "feed-0"
        self._groups = itertools.count(1)
        self._via_relay = False
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self._panel_at = 0.0
        #: Every decoded quote of the current feed, after the board (alerts, positions): keep them O(1).
        self.quotes: Channel[[Quote]] = Channel()
        #: Called once a feed has started (the positions are read again from its station).
        self.started: list[Callable[[], None]] = []
        #: Symbols kept registered though not on the list on screen, by who wants them ("alerts",
        #: "positions"). The station gets the union, the list on screen first (see watched_keys).
        self._pinned: dict[str, tuple[SymbolKey, ...]] = {}
        self._syncing: Worker[None] | None = None
        self.station_facts = StationFacts()  # /symbol, /primaryexchange, /regulations: once a day

    @property
    def source(self) -> FeedSource:
        """Where the current feed comes from (or will, once a password is given)."""
        return self._sources[self._source_index]

    @property
    def server(self) -> TestServer | None:
        """The embedded station of the current feed (the demo's, a replay's)."""
        return self.feed.server if self.feed is not None else None

    async def begin(self) -> None:
        """The first feed: started, or its password asked for first."""
        if self.source.needs_password:
            self._ask_password(self._source_index)
        else:
            await self.start_feed()

    # -- the feed --------------------------------------------------------------------------------

    async def start_feed(self) -> None:
        """Close the current feed (and its embedded server) and start :attr:`source` on the watchlist."""
        await self.stop_feed()
        self._group = f"feed-{next(self._groups)}"
        feed = await self.source.start(self.max_symbols)
        feed.registry.replace_watch(self.watched_keys())
        feed.events.quote.subscribe(self._on_quote)
        feed.events.reject.subscribe(self.board.reject)
        feed.events.registered.subscribe(lambda keys: self._registered_late(feed, keys))
        feed.events.refused.subscribe(self._refused_by_station)
        self._keeping.record(feed)
        self.feed = feed
        self._via_relay = False
        self.history = None
        self.spawn(partial(self._keep_history, feed), "history")
        self._feed_worker = self.spawn(partial(self._run_feed, feed), "feed")
        for started in self.started:
            started()
        self.spawn(partial(self._ask_if_relay, feed), "relay?")
        self.update_status()

    async def _ask_if_relay(self, feed: Feed) -> None:
        """A Kabu URL may be a quoteboard relay's: the status bar says so (the board shares the station
        with other programs), and the chart reads the relay's history, as on NATS (served_history)."""
        self._via_relay, served = await served_history(feed, self.source)
        self.history = served or self.history  # else the tick store's, if this board writes one
        self.update_status()

    def spawn(self, work: Callable[[], Coroutine[Any, Any, Any]], name: str) -> Worker[Any]:
        """A worker of the current feed: cancelled with it, so it never acts on the next feed.

        ``work`` is called when the worker starts: a coroutine made before would, cancelled unstarted
        (the feed switched at once), never be awaited, and its warning would keep the feed alive."""
        return self.host.run_worker(work, name=name, group=self._group, exit_on_error=False)

    async def _keep_history(self, feed: Feed) -> None:
        self.history = await self._keeping.keep_history(feed, self.source.kind) or self.history

    async def shutdown(self) -> None:
        """The board is closing: the feed stopped, and the event watch with it."""
        await self.stop_feed()
        if self.events is not None:
            await self.events.aclose(wait=False)

    def _event_failed(self, failure: str) -> None:
        self.host.notify(failure, title="event command", severity="error", timeout=15, markup=False)

    async def stop_feed(self) -> None:
        worker, feed = self._feed_worker, self.feed
        self._feed_worker = self.feed = None
        self.host.workers.cancel_group(self.host, self._group)
        await self._keeping.stop()
        if worker is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        if feed is not None:
            await feed.close()

    def say(self, text: str, tone: Tone = "info") -> None:
        self.host.post_message(Outcome(text, tone))

    async def _run_feed(self, feed: Feed) -> None:
        if self.events is not None:
            self.events.attach(feed)
        late = False
        try:
            refused = await feed.start()
        except KabuClientError as exc:
            if not exc.transient:  # a wrong password, the API turned off...: asking again won't help
                wrong = isinstance(exc, KabuError) and exc.code == WRONG_PASSWORD_CODE
                feed.status = FeedStatus("wrong_password" if wrong else "closed", str(exc))
                self.update_status()
                self.say(f"{feed.name}: the station refused: {exc}", "error")
                if isinstance(exc, KabuError) and exc.code == WRONG_PASSWORD_CODE:
                    # Forgotten, and asked again: a mistyped password must not stick until a restart.
                    self._sources[self._source_index] = self.source.with_password(None)
                    self._ask_password(self._source_index, refused=str(exc))
                return
            # Not logged in yet, or no answer: the socket loop below keeps asking, registers once it
            # connects, and the first snapshots are fetched then (nothing is pushed after the close).
            self.say(f"{feed.name}: {exc}; retrying", "error")
            late = True
        else:
            if feed.registry.watched and not refused:  # (a refusal is said by on_refused, and stays said)
                self.say(f"{feed.name}: {feed.registry.count()} registered", "ok")
            self.fetch_boards(feed, feed.registry.watched)

        def on_status(status: FeedStatus) -> None:
            nonlocal late
            if late and status.state == "live":
                late = False
                self.say(f"{feed.name}: connected", "ok")
                self.fetch_boards(feed, feed.registry.watched)
            self.update_status()

        feed.events.status.subscribe(on_status)
        await feed.run()

    def _registered_late(self, feed: Feed, keys: list[SymbolKey]) -> None:
        """The feed registered ``keys`` on a retry (the station was down, failing or logged out)."""
        names = ", ".join(str(key) for key in keys)
        self.say(f"{names} registered ({feed.registry.count()})", "ok")
        self.fetch_boards(feed, keys)  # nothing is pushed after the close: the snapshots fill the rows

    def _refused_by_station(self, refused: list[tuple[SymbolKey, KabuError]]) -> None:
        """Watched symbols the station refused (unknown to it, or over its limit). They stay on the
        board and in the watchlist, marked, since another feed may know them (the demo's market is
        not the exchange); this feed does not watch them."""
        name = self.source.kind
        for key, exc in refused:
            self.board.refuse(key, f"not registered on {name}: {exc}")
        key, exc = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        self.say(f"{key} not registered on {name}: {exc}{more}", "error")

    def fetch_boards(self, feed: Feed, keys: list[SymbolKey]) -> Worker[None]:
        """The first snapshots over REST: Kabu pushes nothing after the close, so they fill the board."""
        return self.spawn(partial(self._fetch_boards_work, feed, keys), "snapshots")

    async def _fetch_boards_work(self, feed: Feed, keys: list[SymbolKey]) -> None:
        def apply_if_empty(quote: Quote) -> None:
            key = quote.key
            row = self.board.rows.get(key)
            if row is None and not feed.registry.is_watched(key):
                # Removed while its GET was on the way, and the GET registered it again.
                self.unregister_symbol(feed, key, quiet=True)
            elif row is not None and row.quote is None:
                self.board.apply(quote)

        def wanted(key: SymbolKey) -> bool:
            # Asked lazily, just before each GET: GET /board registers its symbol as a side effect
            # (Kabu does so too), so a symbol removed meanwhile must not be asked for; and a row the
            # socket has filled meanwhile needs no snapshot (a REST call less under the rate limit).
            row = self.board.rows.get(key)
            return feed.registry.is_watched(key) and (row is None or row.quote is None)

        failures = await feed.fetch_boards(filter(wanted, keys), apply_if_empty)
        if failures:
            key, exc = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            self.say(f"board of {key} failed: {exc}{more}", "error")

    def _on_quote(self, quote: Quote) -> None:
        self.board.apply(quote)
        for subscriber in self.quotes.subscribers:
            subscriber(quote)

    # -- what is registered ------------------------------------------------------------------------

    def watched_keys(self) -> list[SymbolKey]:
        """What the station should hold: the list on screen, then the pinned symbols, to the cap."""
        keys = dict.fromkeys(self.board.rows)
        for pinned in self._pinned.values():
            keys.update(dict.fromkeys(pinned))
        return list(keys)[: self.max_symbols]

    def set_pinned(self, owner: str, keys: Iterable[SymbolKey]) -> None:
        """``owner``'s symbols (armed alerts', positions') are to stay registered, on screen or not."""
        keys = tuple(keys)
        if self._pinned.get(owner, ()) == keys:
            return
        self._pinned[owner] = keys
        self.board.pinned = frozenset(itertools.chain.from_iterable(self._pinned.values()))
        self.mark_over_cap()
        self.sync_registration()

    def sync_registration(self) -> None:
        """Register and unregister the difference between what the feed watches and
        :meth:`watched_keys` (a list switched, an alert armed), in a worker, one at a time."""
        if self.feed is None:
            return
        feed = self.feed

        async def sync() -> None:
            # Until nothing differs: the wanted set may change while a call is on the way.
            while True:
                wanted = self.watched_keys()
                current = feed.registry.watched
                refused = feed.registry.refused
                gone = [key for key in current if key not in wanted]
                new = [key for key in wanted if key not in current and key not in refused]
                if not gone and not new:
                    return
                try:
                    if gone:
                        await feed.unregister(gone)
                    if new:
                        for key, exc in await feed.register_each(new):
                            self.board.refuse(key, f"not registered on {feed.name}: {exc}")
                except KabuClientError as exc:
                    self.say(f"registering failed: {exc}", "error")
                    return
                fill = [key for key in new if key in self.board.rows and feed.registry.is_watched(key)]
                if fill:
                    await self.fetch_boards(feed, fill).wait()

        if self._syncing is not None and self._syncing.is_running:
            self._syncing.cancel()
        self._syncing = self.spawn(sync, "sync")

    def over_cap(self) -> int:
        """How many symbols of the list on screen and the pinned ones the station cannot take."""
        keys = set(self.board.rows)
        for pinned in self._pinned.values():
            keys.update(pinned)
        return max(0, len(keys) - self.max_symbols)

    def mark_over_cap(self) -> None:
        """Rows of the list on screen past the cap say so; rows back under it wait for quotes."""
        wanted = set(self.watched_keys())
        note = OVER_CAP_NOTE.format(cap=self.max_symbols)
        for row in self.board:
            if row.key not in wanted and row.note is None:
                self.board.refuse(row.key, note)
            elif row.key in wanted and row.note == note:
                row.note = None
                self.board.mark_dirty(row.key)

    async def register_symbol(self, feed: Feed, key: SymbolKey, previous: SymbolKey | None) -> None:
        """Register ``key``; if the station refuses it, take the row away again."""
        try:
            await feed.register([key])
        except KabuClientError as exc:
            if exc.transient:  # the station failed or did not answer: the feed asks again
                self.say(f"{key} kept on the watchlist, not registered yet: {exc}", "error")
                return
            self.drop(key)
            if previous is not None:
                self.table.move_cursor_to(previous)
            self.say(f"{key} not registered: {exc}", "error")
            return
        self.say(f"{key} registered ({feed.registry.count()})", "ok")
        await self.fetch_boards(feed, [key]).wait()

    def drop(self, key: SymbolKey) -> None:
        if self.board.remove(key):
            self.table.sync_rows()
            self._save()
            self.mark_over_cap()

    def unregister_symbol(self, feed: Feed, key: SymbolKey, quiet: bool = False) -> None:
        """Unregister ``key``; ``quiet`` for a clean-up the user did not ask for (failures still show)."""

        async def unregister() -> None:
            try:
                await feed.unregister([key])
            except KabuClientError as exc:
                self.say(f"{key} removed from the board; unregistering failed: {exc}", "error")
                return
            if not quiet:
                self.say(f"{key} unregistered ({feed.registry.count()})", "ok")

        self.spawn(unregister, "unregister")

    def worker_failed(self, event: Worker.StateChanged) -> None:
        """A feed or REST worker raised what nothing expected (a bug): say so, rather than leave
        "registering…" or a "live" feed that no longer runs on screen (Textual would say nothing)."""
        worker, error = event.worker, event.worker.error
        if event.state is not WorkerState.ERROR or not worker.group.startswith("feed-"):
            return
        what = f"unexpected error: {type(error).__name__}: {error}"
        self.say(what, "error")
        if worker is self._feed_worker and self.feed is not None:
            self.feed.status = FeedStatus("closed", f"the feed stopped: {what}")
            self.update_status()

    # -- the frame clock and the status bar ----------------------------------------------------------

    def draw(self) -> None:
        """The rows that changed since the last frame, repainted; the panel follows its row."""
        dirty = self.board.take_dirty()
        table = self.table
        cursor = table.cursor_key
        table.update_rows(dirty)
        if cursor is not None and cursor in dirty:
            now = time.monotonic()
            if now - self._panel_at >= PANEL_SECONDS:
                self._panel_at = now
                self.panel.show_row(self.board.rows.get(cursor))
            else:
                self.board.mark_dirty(cursor)  # show it on a later frame

    def highlighted(self, key: SymbolKey | None) -> None:
        """The panel shows the highlighted row at once (then at most every PANEL_SECONDS)."""
        self._panel_at = time.monotonic()
        self.panel.show_row(self.board.rows.get(key) if key is not None else None)

    def update_status(self) -> None:
        now = time.monotonic()
        feed = self.feed
        # PUSH frames only (REST snapshots are not the feed's rate), decoded or not.
        pushed = feed.received + feed.rejected if feed is not None else 0
        mark_time, mark_count = self._rate_mark
        if pushed < mark_count:  # a new feed started counting from zero
            self._rate_mark = (now, pushed)
        elif now - mark_time >= 1.0:
            self._rate = (pushed - mark_count) / (now - mark_time)
            self._rate_mark = (now, pushed)
        status = feed.status if feed is not None else FeedStatus("idle")
        replay = self.server.replay if self.server is not None else None
        if replay is not None and replay.finished.is_set() and status.state == "live":
            status = FeedStatus("live", f"end of the recording ({replay.sent} frames replayed)")
        # Not live (reconnecting, the station, NATS server or relay away): the last prices stay, muted.
        self.table.set_stale(feed is not None and status.state != "live")
        rejection = self.board.last_rejection
        self.status_bar.show(
            StatusSnapshot(
                feed=feed.name if feed is not None else self.source.kind,
                status=status,
                rate=self._rate,
                last_message_at=self.board.last_message_at,
                rejected=self.board.rejected,
                unwatched=self.board.unwatched,
                via_relay=self._via_relay,
                last_rejection=rejection.reason if rejection is not None else None,
                symbols=len(self.watched_keys()),  # the list on screen and the pinned, to the cap
                max_symbols=self.max_symbols,
                unregistered=self.over_cap(),
                sort=self.table.sort_mode,
            )
        )

    # -- switching feed, the password -------------------------------------------------------------

    async def switch_feed(self) -> None:
        """The next source; a Kabu station without a password asks for it first."""
        if len(self._sources) < 2:
            self.say(f"no other feed to switch to than {self.source.kind}")
            return
        index = (self._source_index + 1) % len(self._sources)
        if self._sources[index].needs_password:
            self._ask_password(index)
        else:
            await self._switch(index)

    def _ask_password(self, index: int, refused: str | None = None) -> None:
        """The password modal for source ``index``, switched to once one is given."""

        async def got(password: Secret | None) -> None:
            if password:
                self._sources[index] = self._sources[index].with_password(password)
                await self._switch(index)
            elif refused is None:
                self.say("Kabu Station not opened: no password given")

        self.host.push_screen(PasswordScreen(self._sources[index].base_url, refused), got)

    async def _switch(self, index: int) -> None:
        self._source_index = index
        self.say(f"switching to the {self.source.kind} feed…")
        # The old feed's prices must not pass for the new feed's: rows wait for fresh quotes.
        self.board.forget_quotes()
        await self.start_feed()
        cursor = self.table.cursor_key
        self.panel.show_row(self.board.rows.get(cursor) if cursor is not None else None)

    async def reconnect(self) -> None:
        """Start the feed again now: after it gave the station's socket up to another program, or
        to skip a long back-off."""
        if self.source.needs_password:
            self._ask_password(self._source_index)
            return
        self.say(f"reconnecting the {self.source.kind} feed…")
        await self.start_feed()
