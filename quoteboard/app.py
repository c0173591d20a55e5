"""The board: a Textual app showing a live quote table fed by one Kabu feed (demo or real).

The data path is ``Feed._pump -> decode_frame -> Board.apply`` inside the feed worker (same event
loop, no queue), then a 20 Hz timer drains ``Board.take_dirty()`` into the table, which repaints only
the rows that changed. REST calls (register, unregister, the first board snapshot) run in workers,
never in a handler, and their outcome is shown in words in the register panel.

The demo is the same :class:`~quoteboard.feeds.kabu.KabuFeed` pointed at the test server embedded in this
process on a free loopback port (see :mod:`quoteboard.source`). Switching feed (``f``) cancels the old
feed's workers as a group, closes its socket (and the embedded server) and registers the same
watchlist on the next source.

REST workers say what came of their calls by posting :class:`QuoteboardApp.Outcome`; the app shows it
in the register panel (tests watch the messages with ``run_test(message_hook=...)``).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from quoteboard.alerts import AlertStore
from quoteboard.board import Board
from quoteboard.board_alerts import BoardAlerts
from quoteboard.colours import Palette, palette_variables
from quoteboard.feeds.contract import Channel, Feed, FeedStatus, RelayAware
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE, KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.keys import BOARD_KEYS
from quoteboard.record import Recorder, RecordingError
from quoteboard.secret import Secret
from quoteboard.settings import Settings, SettingsStore
from quoteboard.source import FeedSource
from quoteboard.watchlist import MAIN, LoadResult, Watchlist, Watchlists, WatchlistStore
from quoteboard.widgets.alert_list import AlertList
from quoteboard.widgets.help_screen import HelpScreen
from quoteboard.widgets.layout import BoardScreen, BottomBars, MainRow, SideColumn, TopBar
from quoteboard.widgets.list_name_screen import ListNameScreen
from quoteboard.widgets.list_tabs import ListTabs
from quoteboard.widgets.password_screen import PasswordScreen
from quoteboard.widgets.positions_view import PositionsView
from quoteboard.widgets.quote_table import SORT_MODES, QuoteTable
from quoteboard.widgets.register_panel import CodeInput, RegisterPanel, Tone
from quoteboard.widgets.status_bar import StatusBar, StatusSnapshot

if TYPE_CHECKING:
    from quoteboard.server import TestServer

__all__ = ["DEMO_WATCHLIST", "QuoteboardApp", "settle_gc"]

#: What the demo opens with when nothing is saved: well-known TSE names.
DEMO_WATCHLIST: Final = tuple(
    SymbolKey(code) for code in ("7203", "9433", "9984", "8306", "7974", "6861", "4063", "6501")
)
FRAME_SECONDS: Final = 1 / 20
STATUS_SECONDS: Final = 1.0
#: The detail panel follows its symbol at most this often (several times a second is plenty to read).
PANEL_SECONDS: Final = 0.2
#: With ``tune_gc``: the start-up heap is frozen this long after mount, and the youngest GC
#: generation is collected after this many allocations instead of Python's 700 (see settle_gc).
SETTLE_GC_SECONDS: Final = 1.0
GC_GEN0_THRESHOLD: Final = 10_000
#: The note on a row of the list on screen past the cap (the station is not asked for it).
OVER_CAP_NOTE: Final = (
    "not registered: over Kabu's limit of {cap} symbols (list on screen, alerts, positions)"
)


class QuoteboardApp(App[int]):
    """The quote board.

    ``sources`` are the feeds ``f`` cycles through, the first one started (see
    :class:`~quoteboard.source.FeedSource`): by default the demo market and a Kabu station on its
    production URL, whose password is asked for when needed. ``tune_gc`` (the command line sets it)
    settles the garbage collector for a long-running board, see :func:`settle_gc`; it is off by
    default because it changes process-wide state.
    """

    CSS_PATH = Path(__file__).with_name("quoteboard.tcss")  # absolute: subclasses live elsewhere
    TITLE = "quoteboard"

    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the first of several keys as Textual names it ("d", not "d / Delete").
        Binding(
            key.keys,
            key.action,
            key.label,
            show=key.show,
            id=key.action,
            key_display=None if "," in key.keys else key.display,
        )
        for key in BOARD_KEYS
        if key.action is not None
    ]

    @dataclass
    class Outcome(Message):
        """What a REST call came to (or a feed said), for the register panel."""

        text: str
        tone: Tone = "info"

    def __init__(
        self,
        *,
        sources: Sequence[FeedSource] = (FeedSource("demo"), FeedSource.kabu()),
        symbols: Iterable[SymbolKey] = (),
        store: WatchlistStore | None = None,
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
        record: Path | None = None,
        tune_gc: bool = False,
        list_name: str | None = None,
        alerts: AlertStore | None = None,
        alert_command: list[str] | None = None,
        settings: SettingsStore | None = None,
    ) -> None:
        super().__init__()
        #: Every watchlist and the one shown (the board's rows are the shown one's).
        self.lists = Watchlists()
        #: ``--list NAME``: the list to open, made if it does not exist.
        self._list_name = list_name
        #: The last list deleted, kept until quit so that a slip of the palette can be undone.
        self._deleted_list: tuple[str, Watchlist] | None = None
        #: None: a board that neither reads nor writes the settings file (tests, a replay's).
        self._settings = settings
        self.positions_view = PositionsView(id="positions")
        self._tune_gc = tune_gc
        self._sources = list(sources)
        self._source_index = 0
        self._extra_symbols = list(symbols)
        #: None: a board that neither reads nor writes the saved watchlist (a replay's).
        self._store = store
        self._record_path = record
        self._recorder: Recorder | None = None
        self.max_symbols = max_symbols
        self.board = Board()
        self.feed: Feed | None = None
        self._feed_worker: Worker[None] | None = None
        #: Every worker of one feed is in this group, cancelled together when the feed goes.
        self._group = "feed-0"
        self._groups = itertools.count(1)
        self._save_error: str | None = None
        self._via_relay = False
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self._panel_at = 0.0
        #: Every decoded quote of the current feed, after the board (alerts, positions): keep them O(1).
        self.quotes: Channel[[Quote]] = Channel()
        #: Symbols kept registered though not on the list on screen, by who wants them ("alerts",
        #: "positions"). The station gets the union, the list on screen first (see _watched_keys).
        self._pinned: dict[str, tuple[SymbolKey, ...]] = {}
        self._syncing: Worker[None] | None = None
        #: Price alerts; ``alerts`` None keeps them in memory only.
        self.alerts = BoardAlerts(self, alerts, alert_command)

    @property
    def source(self) -> FeedSource:
        """Where the current feed comes from (or will, once a password is given)."""
        return self._sources[self._source_index]

    @property
    def server(self) -> TestServer | None:
        """The embedded station of the current feed (the demo's, a replay's)."""
        return self.feed.server if self.feed is not None else None

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TopBar(id="top"):
            yield ListTabs(id="tabs")
        with MainRow(id="main"):
            yield QuoteTable(self.board, id="table")
            yield self.positions_view
            with SideColumn(id="side"):
                yield RegisterPanel(id="panel")
        with BottomBars(id="bottom"):
            yield StatusBar(id="status")
            yield Footer()

    def get_default_screen(self) -> Screen[Any]:
        return BoardScreen(id="_default")  # Textual's own id for the first screen

    @property
    def table(self) -> QuoteTable:
        return self._table

    @property
    def panel(self) -> RegisterPanel:
        return self._panel

    @property
    def status_bar(self) -> StatusBar:
        return self._status_bar

    async def on_mount(self) -> None:
        # Held, not queried: App.query_one searches the screen on top (help, password), not the board.
        self._table = self.query_one(QuoteTable)
        self._panel = self.query_one(RegisterPanel)
        self._status_bar = self.query_one(StatusBar)
        self._tabs = self.query_one(ListTabs)
        self._load_settings()
        loaded = self._store.load() if self._store is not None else LoadResult(Watchlists())
        self.lists = loaded.lists
        # Nothing saved yet: the demo may fill the one list (a list asked for by name starts empty).
        fresh = self.lists == Watchlists() and self._list_name in (None, MAIN)
        self._open_named_list()
        keys = list(self.lists.current.symbols)
        for key in self._extra_symbols:
            if key not in keys:
                keys.append(key)
        kind = self.source.kind
        starting_with = "the symbols given" if keys else "an empty watchlist"
        if not keys and kind == "demo" and fresh:
            keys = list(DEMO_WATCHLIST)
            starting_with = "the demo's watchlist"
        elif not keys and kind == "replay":
            self._say("the recording names no symbol: press a to add one", "error")
        # Said once the rows are decided: a damaged file's notice says what the board shows instead.
        notice = loaded.notice(starting_with)
        if notice:
            self.notify(notice, title="watchlist", severity="warning", timeout=12)
        for key in keys:  # all of them: those past the cap are marked, not dropped
            self.board.add(key)
        sort = self.lists.current.sort
        self.table.sort_mode = sort if sort in SORT_MODES else "added"
        self.table.sync_rows()
        self._mark_over_cap()
        self._show_tabs()
        self._save()
        self.table.focus()
        if not keys:
            self._say("the watchlist is empty: press a and type a code such as 7203")
        self.alerts.start()  # before the feed: armed alerts' symbols are registered with the list
        self.set_interval(FRAME_SECONDS, self._frame)
        self.set_interval(STATUS_SECONDS, self._update_status)
        if self._tune_gc:
            self.set_timer(SETTLE_GC_SECONDS, settle_gc)
        if self.source.needs_password:
            self._ask_password(self._source_index)
        else:
            await self._start_feed()

    # -- the feed --------------------------------------------------------------------------------

    async def _start_feed(self) -> None:
        """Close the current feed (and its embedded server) and start :attr:`source` on the watchlist."""
        await self._stop_feed()
        self._group = f"feed-{next(self._groups)}"
        feed = await self.source.start(self.max_symbols)
        feed.registry.replace_watch(self._watched_keys())
        feed.events.quote.subscribe(self._on_quote)
        feed.events.reject.subscribe(self.board.reject)
        feed.events.registered.subscribe(lambda keys: self._registered_late(feed, keys))
        feed.events.refused.subscribe(self._refused_by_station)
        if self._record_path is not None:
            self._start_recording(feed)
        self.feed = feed
        self._via_relay = False
        self._feed_worker = self._spawn(self._run_feed(feed), "feed")
        self.positions_view.reload(forget=True)
        if not self.source.embedded:
            self._spawn(self._ask_if_relay(feed), "relay?")
        self._update_status()

    async def _ask_if_relay(self, feed: Feed) -> None:
        """A Kabu URL may be a quoteboard relay's: the status bar says so (then the board shares the
        station with other programs rather than taking its one socket)."""
        self._via_relay = isinstance(feed, RelayAware) and await feed.relay_status() is not None
        self._update_status()

    def _spawn(self, work: Awaitable[Any], name: str) -> Worker[Any]:
        """A worker of the current feed: cancelled with it, so it never acts on the next feed."""
        return self.run_worker(work, name=name, group=self._group, exit_on_error=False)

    def _start_recording(self, feed: Feed) -> None:
        """Append every frame ``feed`` receives to the --record file (a new header per feed)."""
        assert self._record_path is not None
        try:
            recorder = Recorder(self._record_path, feed.registry.watched, source=feed.name)
        except RecordingError as exc:
            self.notify(str(exc), title="not recording", severity="error", timeout=15)
            self._record_path = None
            return
        self._recorder = recorder

        def record(frame: bytes | str, received_at: float) -> None:
            try:
                recorder.write(frame, received_at)
            except RecordingError as exc:  # the disk filled up, say: the board goes on without it
                self.notify(str(exc), title="recording stopped", severity="error", timeout=15)

        feed.events.frame.subscribe(record)

    async def _stop_feed(self) -> None:
        worker, feed = self._feed_worker, self.feed
        self._feed_worker = self.feed = None
        self.workers.cancel_group(self, self._group)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if worker is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        if feed is not None:
            await feed.close()

    def _say(self, text: str, tone: Tone = "info") -> None:
        self.post_message(self.Outcome(text, tone))

    @on(Outcome)
    def _show_outcome(self, event: Outcome) -> None:
        self.panel.show_outcome(event.text, event.tone)

    async def _run_feed(self, feed: Feed) -> None:
        late = False
        try:
            refused = await feed.start()
        except KabuClientError as exc:
            if not exc.transient:  # a wrong password, the API turned off...: asking again won't help
                feed.status = FeedStatus("error", str(exc))
                self._update_status()
                self._say(f"{feed.name}: the station refused: {exc}", "error")
                if isinstance(exc, KabuError) and exc.code == WRONG_PASSWORD_CODE:
                    # Forgotten, and asked again: a mistyped password must not stick until a restart.
                    self._sources[self._source_index] = self.source.with_password(None)
                    self._ask_password(self._source_index, refused=str(exc))
                return
            # Not logged in yet, or no answer: the socket loop below keeps asking, registers once it
            # connects, and the first snapshots are fetched then (nothing is pushed after the close).
            self._say(f"{feed.name}: {exc}; retrying", "error")
            late = True
        else:
            if feed.registry.watched and not refused:  # (a refusal is said by on_refused, and stays said)
                self._say(f"{feed.name}: {feed.registry.count()} registered", "ok")
            self._fetch_boards(feed, feed.registry.watched)

        def on_status(status: FeedStatus) -> None:
            nonlocal late
            if late and status.state == "live":
                late = False
                self._say(f"{feed.name}: connected", "ok")
                self._fetch_boards(feed, feed.registry.watched)
            self._update_status()

        feed.events.status.subscribe(on_status)
        await feed.run()

    def _registered_late(self, feed: Feed, keys: list[SymbolKey]) -> None:
        """The feed registered ``keys`` on a retry (the station was down, failing or logged out)."""
        names = ", ".join(str(key) for key in keys)
        self._say(f"{names} registered ({feed.registry.count()})", "ok")
        self._fetch_boards(feed, keys)  # nothing is pushed after the close: the snapshots fill the rows

    def _refused_by_station(self, refused: list[tuple[SymbolKey, KabuError]]) -> None:
        """Watched symbols the station refused (unknown to it, or over its limit). They stay on the
        board and in the watchlist, marked, since another feed may know them (the demo's market is
        not the exchange); this feed does not watch them."""
        name = self.source.kind
        for key, exc in refused:
            self.board.refuse(key, f"not registered on {name}: {exc}")
        key, exc = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        self._say(f"{key} not registered on {name}: {exc}{more}", "error")

    def _fetch_boards(self, feed: Feed, keys: list[SymbolKey]) -> Worker[None]:
        """The first snapshots over REST: Kabu pushes nothing after the close, so they fill the board."""
        return self._spawn(self._fetch_boards_work(feed, keys), "snapshots")

    async def _fetch_boards_work(self, feed: Feed, keys: list[SymbolKey]) -> None:
        def apply_if_empty(quote: Quote) -> None:
            key = quote.key
            row = self.board.rows.get(key)
            if row is None and not feed.registry.is_watched(key):
                # Removed while its GET was on the way, and the GET registered it again.
                self._unregister_symbol(feed, key, quiet=True)
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
            self._say(f"board of {key} failed: {exc}{more}", "error")

    def _on_quote(self, quote: Quote) -> None:
        self.board.apply(quote)
        for subscriber in self.quotes.subscribers:
            subscriber(quote)

    def _watched_keys(self) -> list[SymbolKey]:
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
        self._mark_over_cap()
        self.sync_registration()

    def sync_registration(self) -> None:
        """Register and unregister the difference between what the feed watches and
        :meth:`_watched_keys` (a list switched, an alert armed), in a worker, one at a time."""
        if self.feed is None:
            return
        feed = self.feed

        async def sync() -> None:
            # Until nothing differs: the wanted set may change while a call is on the way.
            while True:
                wanted = self._watched_keys()
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
                    self._say(f"registering failed: {exc}", "error")
                    return
                fill = [key for key in new if key in self.board.rows and feed.registry.is_watched(key)]
                if fill:
                    await self._fetch_boards(feed, fill).wait()

        if self._syncing is not None and self._syncing.is_running:
            self._syncing.cancel()
        self._syncing = self._spawn(sync(), "sync")

    # -- the frame clock -------------------------------------------------------------------------

    def _frame(self) -> None:
        if not self.is_running:
            # Shutting down without App.exit() (Pilot's run_test does so): timers still fire while
            # the widgets are taken down, and the panel would look for a child already gone.
            return
        self.positions_view.frame()
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

    def _update_status(self) -> None:
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
        self._status_bar.show(
            StatusSnapshot(
                feed=feed.name if feed is not None else self.source.kind,
                status=status,
                rate=self._rate,
                last_message_at=self.board.last_message_at,
                rejected=self.board.rejected,
                unwatched=self.board.unwatched,
                via_relay=self._via_relay,
                last_rejection=rejection.reason if rejection is not None else None,
                symbols=len(self._watched_keys()),  # the list on screen and the pinned, to the cap
                max_symbols=self.max_symbols,
                unregistered=self._over_cap(),
                sort=self.table.sort_mode,
            )
        )

    # -- add / remove ----------------------------------------------------------------------------

    def action_add(self) -> None:
        self._panel.query_one(CodeInput).focus()

    @on(CodeInput.Left)
    def _leave_input(self) -> None:
        self.table.focus()

    @on(RegisterPanel.SymbolSubmitted)
    def _symbol_submitted(self, event: RegisterPanel.SymbolSubmitted) -> None:
        key = event.key
        self.table.focus()
        if key in self.board:
            self.table.move_cursor_to(key)
            self._say(f"{key} is already on the board")
            return
        if len(self._watched_keys()) >= self.max_symbols:
            self._say(f"{key} not added: 4002006 over the symbol limit: at most {self.max_symbols} symbols",
                      "error")  # fmt: skip
            return
        previous = self.table.cursor_key
        self.board.add(key)
        self.table.sync_rows()
        self.table.move_cursor_to(key)
        self._save()
        if self.feed is not None:
            self._say(f"registering {key}…")
            self._spawn(self._register_symbol(self.feed, key, previous), "register")

    async def _register_symbol(self, feed: Feed, key: SymbolKey, previous: SymbolKey | None) -> None:
        """Register ``key``; if the station refuses it, take the row away again."""
        try:
            await feed.register([key])
        except KabuClientError as exc:
            if exc.transient:  # the station failed or did not answer: the feed asks again
                self._say(f"{key} kept on the watchlist, not registered yet: {exc}", "error")
                return
            self._drop(key)
            if previous is not None:
                self.table.move_cursor_to(previous)
            self._say(f"{key} not registered: {exc}", "error")
            return
        self._say(f"{key} registered ({feed.registry.count()})", "ok")
        await self._fetch_boards(feed, [key]).wait()

    def action_remove(self) -> None:
        key = self.table.cursor_key
        if key is None:
            self._say("nothing to remove: the board is empty")
            return
        refused = self.board.rows[key].note is not None
        over = self._over_cap() > 0
        self._drop(key)
        if refused:  # the station never registered it: nothing to unregister
            self._say(f"{key} removed")
        elif over and self.feed is not None:  # a row past the cap now fits: both ways at once
            self._say(f"{key} removed")
            self.sync_registration()
        elif key in self._watched_keys():  # an armed alert or a position keeps it registered
            self._say(f"{key} removed from the list; still registered for its alerts or position")
        elif self.feed is not None:
            self._unregister_symbol(self.feed, key)

    def _drop(self, key: SymbolKey) -> None:
        if self.board.remove(key):
            self.table.sync_rows()
            self._save()
            self._mark_over_cap()

    def _unregister_symbol(self, feed: Feed, key: SymbolKey, quiet: bool = False) -> None:
        """Unregister ``key``; ``quiet`` for a clean-up the user did not ask for (failures still show)."""

        async def unregister() -> None:
            try:
                await feed.unregister([key])
            except KabuClientError as exc:
                self._say(f"{key} removed from the board; unregistering failed: {exc}", "error")
                return
            if not quiet:
                self._say(f"{key} unregistered ({feed.registry.count()})", "ok")

        self._spawn(unregister(), "unregister")

    def _keep_shown(self) -> None:
        """The shown list takes the board's rows and the table's sort (in memory)."""
        self.lists.lists[self.lists.shown] = Watchlist(list(self.board.rows), self.table.sort_mode)

    def _save(self) -> None:
        self._keep_shown()  # saved or not (a replay's board), the lists follow the board
        if self._store is None:
            return
        error = self._store.save(self.lists)
        if error and error != self._save_error:
            self.notify(error, title="watchlist not saved", severity="error", timeout=12)
        self._save_error = error

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A feed or REST worker raised what nothing expected (a bug): say so, rather than leave
        "registering…" or a "live" feed that no longer runs on screen (Textual would say nothing)."""
        worker, error = event.worker, event.worker.error
        if event.state is not WorkerState.ERROR or not worker.group.startswith("feed-"):
            return
        what = f"unexpected error: {type(error).__name__}: {error}"
        self._say(what, "error")
        if worker is self._feed_worker and self.feed is not None:
            self.feed.status = FeedStatus("error", f"the feed stopped: {what}")
            self._update_status()

    # -- the rest of the keys ----------------------------------------------------------------------

    @on(QuoteTable.Highlighted)
    def _highlighted(self, event: QuoteTable.Highlighted) -> None:
        self._panel_at = time.monotonic()
        self.panel.show_row(self.board.rows.get(event.key) if event.key is not None else None)
        self.alerts.show(event.key)

    def action_cycle_sort(self) -> None:
        table = self.table
        table.sort_mode = SORT_MODES[(SORT_MODES.index(table.sort_mode) + 1) % len(SORT_MODES)]
        self._save()
        self._update_status()

    async def action_switch_feed(self) -> None:
        """The next source; a Kabu station without a password asks for it first."""
        if len(self._sources) < 2:
            self._say(f"no other feed to switch to than {self.source.kind}")
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
                self._say("Kabu Station not opened: no password given")

        self.push_screen(PasswordScreen(self._sources[index].base_url, refused), got)

    async def _switch(self, index: int) -> None:
        self._source_index = index
        self._say(f"switching to the {self.source.kind} feed…")
        # The old feed's prices must not pass for the new feed's: rows wait for fresh quotes.
        self.board.forget_quotes()
        await self._start_feed()
        cursor = self.table.cursor_key
        self.panel.show_row(self.board.rows.get(cursor) if cursor is not None else None)

    async def action_reconnect(self) -> None:
        """Start the feed again now: after it gave the station's socket up to another program, or
        to skip a long back-off."""
        if self.source.needs_password:
            self._ask_password(self._source_index)
            return
        self._say(f"reconnecting the {self.source.kind} feed…")
        await self._start_feed()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self._stop_feed()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self._stop_feed()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own "Keys" (its key panel) would sit beside ours under the same title: the board's
        # help screen lists every key, said once in keys.py, so the palette offers that one only.
        textual_keys = (self.action_show_help_panel, self.action_hide_help_panel)
        yield from (
            command for command in super().get_system_commands(screen) if command.callback not in textual_keys
        )
        yield SystemCommand("Add symbol", "Type a code to register (a)", self.action_add)
        yield SystemCommand("Remove symbol", "Remove the highlighted symbol (d)", self.action_remove)
        yield SystemCommand("Switch feed", "Demo ↔ Kabu Station (f)", self.action_switch_feed)
        yield SystemCommand("Cycle sort", "As added, code, change %, volume (s)", self.action_cycle_sort)
        yield SystemCommand("Reconnect", "Start the feed again now (r)", self.action_reconnect)
        yield SystemCommand("Keys", "Show the help screen (?)", self.action_help)
        yield SystemCommand("New list", "Make a watchlist and show it (n)", self.action_new_list)
        yield SystemCommand("Rename list", "Rename the watchlist shown", self.action_rename_list)
        yield SystemCommand("Delete list", "Delete the watchlist shown", self.action_delete_list)
        if self._deleted_list is not None:
            yield SystemCommand(
                "Restore list", f"Bring back the list {self._deleted_list[0]!r}", self.action_restore_list
            )
        yield SystemCommand("Next list", "Show the next watchlist (])", self.action_next_list)
        yield SystemCommand("Previous list", "Show the previous watchlist ([)", self.action_previous_list)
        yield from self.alerts.commands()
        yield SystemCommand(
            "Positions", "Positions with live P&L, or the table again (p)", self.action_positions
        )
        blind = self.palette == "colour-blind"
        yield SystemCommand(
            f"Colour-blind palette: turn {'off' if blind else 'on'}",
            "Blue and orange for up and down instead of green and red (saved)",
            self.action_toggle_palette,
        )

    # -- several watchlists ------------------------------------------------------------------------

    def _open_named_list(self) -> None:
        """``--list NAME``: show that list, made empty if there is none of that name."""
        name = self._list_name
        if name is None or name == self.lists.shown:
            return
        if name not in self.lists.lists:
            problem = self.lists.problem_with_name(name)
            if problem is not None:
                self.notify(f"--list {name!r} not opened: {problem}", title="watchlist", severity="error")
                return
            self.lists.create(name)
        self.lists.shown = name

    def _show_tabs(self) -> None:
        self._tabs.show(self.lists.names, self.lists.shown)

    def _over_cap(self) -> int:
        """How many symbols of the list on screen and the pinned ones the station cannot take."""
        keys = set(self.board.rows)
        for pinned in self._pinned.values():
            keys.update(pinned)
        return max(0, len(keys) - self.max_symbols)

    def _mark_over_cap(self) -> None:
        """Rows of the list on screen past the cap say so; rows back under it wait for quotes."""
        wanted = set(self._watched_keys())
        note = OVER_CAP_NOTE.format(cap=self.max_symbols)
        for row in self.board:
            if row.key not in wanted and row.note is None:
                self.board.refuse(row.key, note)
            elif row.key in wanted and row.note == note:
                row.note = None
                self.board.mark_dirty(row.key)

    def show_list(self, name: str, *, keep: bool = True) -> None:
        """Show the list ``name``: its rows (those seen before at once, with their last quotes), its
        sort; the station gets the difference. ``keep``: the list leaving keeps the board's rows and
        sort (not when it was just deleted)."""
        if keep:
            self._keep_shown()
        self.lists.shown = name
        watchlist = self.lists.current
        self.board.replace(watchlist.symbols)
        if self.feed is not None:  # refused before on this feed: said again, not asked again
            for key, exc in self.feed.registry.refused.items():
                self.board.refuse(key, f"not registered on {self.feed.name}: {exc}")
        self.table.sort_mode = watchlist.sort
        self.table.sync_rows()
        if self.board.rows:
            self.table.move_cursor_to(next(iter(self.table.order)))
        cursor = self.table.cursor_key
        self.panel.show_row(self.board.rows.get(cursor) if cursor is not None else None)
        self._mark_over_cap()
        self._show_tabs()
        self._save()
        self._update_status()
        self.sync_registration()

    @on(ListTabs.Selected)
    def _tab_clicked(self, event: ListTabs.Selected) -> None:
        if event.name in self.lists.lists:
            self.show_list(event.name)

    def action_next_list(self) -> None:
        self._step_list(1)

    def action_previous_list(self) -> None:
        self._step_list(-1)

    def _step_list(self, offset: int) -> None:
        names = self.lists.names
        if len(names) < 2:
            self._say("only one list: press n to make another")
            return
        self.show_list(names[(names.index(self.lists.shown) + offset) % len(names)])

    def action_new_list(self) -> None:
        def made(name: str | None) -> None:
            if name:
                self.lists.create(name)
                self.show_list(name)
                self._say(f"list {name!r} made: press a to add symbols")

        self.push_screen(ListNameScreen("Name of the new list", self.lists.problem_with_name), made)

    def action_rename_list(self) -> None:
        old = self.lists.shown

        def check(name: str) -> str | None:
            return self.lists.problem_with_name(name, renaming=old)

        def renamed(name: str | None) -> None:
            if name and name != old:
                self.lists.rename(old, name)
                self._show_tabs()
                self._save()
                self._say(f"list {old!r} renamed {name!r}")

        self.push_screen(ListNameScreen(f"New name for the list {old!r}", check, old), renamed)

    def action_delete_list(self) -> None:
        name = self.lists.shown
        if len(self.lists.lists) < 2:
            self._say("the last list cannot be deleted", "error")
            return
        self._keep_shown()
        self._deleted_list = (name, self.lists.lists[name])
        self.lists.delete(name)
        self.show_list(self.lists.shown, keep=False)
        self._say(f'list {name!r} deleted: Ctrl+P "Restore list" brings it back')

    def action_restore_list(self) -> None:
        """Bring back the list deleted last, and show it."""
        if self._deleted_list is None:
            self._say("no deleted list to restore")
            return
        name, watchlist = self._deleted_list
        problem = self.lists.problem_with_name(name)
        if problem is not None:  # a new list took its name meanwhile
            self._say(f"list {name!r} not restored: {problem}; rename that one first", "error")
            return
        self._deleted_list = None
        self.lists.create(name, watchlist)
        self.show_list(name)
        self._say(f"list {name!r} restored")

    # -- price alerts (the work is in quoteboard.board_alerts) -----------------------------------

    def action_alert(self) -> None:
        self.alerts.ask(self.table.cursor_key)

    @on(AlertList.Delete)
    def _delete_alert(self, event: AlertList.Delete) -> None:
        self.alerts.delete(event.alert)

    @on(AlertList.Rearm)
    def _rearm_alert(self, event: AlertList.Rearm) -> None:
        self.alerts.rearm(event.alert)

    @on(AlertList.Left)
    def _leave_alerts(self) -> None:
        self.table.focus()

    # -- positions (p) and colours: see widgets/positions_view.py and colours.py -------------------

    #: Up and down colours: the theme's, or the colour-blind palette (saved in settings.toml).
    palette: Palette = "theme"

    def action_positions(self) -> None:
        """Show the positions view in place of the table, or the table again."""
        view = self.positions_view
        showing = not view.display
        view.display = showing
        self.table.display = not showing
        if showing:
            view.redraw()
            view.focus()
        else:
            self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the positions view is shown, the table's own keys would act on rows out of sight.
        if action in ("remove", "cycle_sort") and self.positions_view.display:
            return False
        return super().check_action(action, parameters)

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        variables.update(palette_variables(self.palette, variables, self.current_theme.dark))
        return variables

    def _load_settings(self) -> None:
        if self._settings is None:
            return
        settings, message = self._settings.load()
        if message:
            self.notify(message, title="settings", severity="warning", timeout=12)
        if settings.palette != self.palette:
            self.set_palette(settings.palette, save=False)

    def action_toggle_palette(self) -> None:
        self.set_palette("theme" if self.palette == "colour-blind" else "colour-blind")

    def set_palette(self, palette: Palette, *, save: bool = True) -> None:
        """Colour up and down with ``palette``, and remember it (``save``)."""
        self.palette = palette
        self.refresh_css(animate=False)
        # refresh_css tells each widget its styles changed; the table's cached rows are dropped here
        # as well, since a row drawn in the old colours would otherwise stay until its next quote.
        self.table.forget_styles()
        self.positions_view.redraw()
        if save and self._settings is not None:
            error = self._settings.save(Settings(palette))
            if error:
                self.notify(error, title="palette not saved", severity="error", timeout=12)


def settle_gc(gen0_threshold: int = GC_GEN0_THRESHOLD) -> None:
    """Make the garbage collector cheap for a board that runs all day.

    Every repainted row makes a few Textual Strips, each with a handful of small caches: many
    short-lived containers under a flood of quotes, so the collector runs often, and each full pass
    walks the whole start-up heap (Textual's DOM, CSS, caches), which costs CPU and the slowest
    frames. Freezing what exists once the board is up takes that heap out of every later pass, and a
    higher first threshold makes the young passes rarer. Reference counting still frees almost
    everything at once; only cycles wait. What is frozen is never collected if it turns into cyclic
    garbage: the first feed's objects, once, after a switch of feed (a one-off, not a leak).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
