"""The board: a Textual app showing a live quote table fed by one Kabu feed (demo or real).

The data path is ``Feed._pump -> decode_frame -> Board.apply`` inside the feed worker (same event
loop, no queue), then a 20 Hz timer drains ``Board.take_dirty()`` into the table, which repaints only
the rows that changed. REST calls (register, unregister, the first board snapshot) run in workers,
never in a handler, and their outcome is shown in words in the register panel.

The demo is the same :class:`~quoteboard.feed.Feed` pointed at the test server embedded in this
process on a free loopback port. Switching feed (``f``) closes the old feed's socket (and the embedded
server) and registers the same watchlist on the new one.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from quoteboard.board import Board
from quoteboard.feed import Feed, FeedStatus
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE, KabuError
from quoteboard.kabu.protocol import DEFAULT_BASE_URL, Quote, SymbolKey, parse_symbol
from quoteboard.kabu.rest import DEFAULT_MAX_SYMBOLS, StationUnreachable
from quoteboard.keys import BOARD_KEYS
from quoteboard.record import Recorder, RecordingError
from quoteboard.secret import Secret
from quoteboard.watchlist import LoadResult, Watchlist, WatchlistStore
from quoteboard.widgets.help_screen import HelpScreen
from quoteboard.widgets.password_screen import PasswordScreen
from quoteboard.widgets.quote_table import SORT_MODES, QuoteTable
from quoteboard.widgets.register_panel import CodeInput, RegisterPanel
from quoteboard.widgets.status_bar import StatusBar, StatusSnapshot

if TYPE_CHECKING:
    import httpx

    from quoteboard.server import TestServer

__all__ = ["DEMO_WATCHLIST", "QuoteboardApp", "settle_gc"]

#: What the demo opens with when nothing is saved: well-known TSE names.
DEMO_WATCHLIST: Final = ("7203@1", "9433@1", "9984@1", "8306@1", "7974@1", "6861@1", "4063@1", "6501@1")
FRAME_SECONDS: Final = 1 / 20
STATUS_SECONDS: Final = 1.0
#: The detail panel follows its symbol at most this often (several times a second is plenty to read).
PANEL_SECONDS: Final = 0.2
#: With ``tune_gc``: the start-up heap is frozen this long after mount, and the youngest GC
#: generation is collected after this many allocations instead of Python's 700 (see settle_gc).
SETTLE_GC_SECONDS: Final = 1.0
GC_GEN0_THRESHOLD: Final = 10_000


class QuoteboardApp(App[int]):
    """The quote board.

    ``demo_server`` makes the embedded test server for the demo feed (tests pass a seeded or frozen
    one); by default it is ``TestServer()`` on a free loopback port. ``tune_gc`` (the command line
    sets it) settles the garbage collector for a long-running board, see :func:`settle_gc`; it is
    off by default because it changes process-wide state.
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

    def __init__(
        self,
        *,
        demo: bool = True,
        password: Secret | str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        symbols: Iterable[SymbolKey] = (),
        store: WatchlistStore | None = None,
        demo_server: Callable[[], TestServer] | None = None,
        demo_name: str = "demo",
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
        record: Path | None = None,
        rest_transport: httpx.AsyncBaseTransport | None = None,
        tune_gc: bool = False,
    ) -> None:
        super().__init__()
        self._tune_gc = tune_gc
        self._password = Secret.of(password) if password else None
        self._base_url = base_url
        self._start_kind = demo_name if demo else "kabu"
        self._extra_symbols = [str(key) for key in symbols]
        #: None: a board that neither reads nor writes the saved watchlist (a replay's).
        self._store = store
        self._demo_server = demo_server
        #: What the embedded feed is called on screen: "demo", or "replay" for a recording.
        self.demo_name = demo_name
        self._record_path = record
        self._rest_transport = rest_transport  # the Kabu feed's REST transport (tests inject faults)
        self._recorder: Recorder | None = None
        self.max_symbols = max_symbols
        self.board = Board()
        self.feed: Feed | None = None
        self._server: TestServer | None = None  # embedded while the demo feed runs
        self._feed_worker: Worker[None] | None = None
        self._save_error: str | None = None
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self._panel_at = 0.0

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield QuoteTable(self.board, id="table")
            yield RegisterPanel(id="panel")
        yield StatusBar(id="status")
        yield Footer()

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
        loaded = self._store.load() if self._store is not None else LoadResult(Watchlist())
        if loaded.message:
            self.notify(loaded.message, title="watchlist", severity="warning", timeout=12)
        keys = [str(key) for key in loaded.watchlist.symbols]
        for key in self._extra_symbols:
            if key not in keys:
                keys.append(key)
        if not keys and self._start_kind == "demo":
            keys = list(DEMO_WATCHLIST)
        elif not keys and self._start_kind != "kabu":
            self.panel.show_outcome("the recording names no symbol: press a to add one", "error")
        for key in keys[: self.max_symbols]:
            self.board.add(key)
        if len(keys) > self.max_symbols:
            self.notify(f"only the first {self.max_symbols} of {len(keys)} symbols are watched "
                        "(Kabu's limit)", severity="warning")  # fmt: skip
        sort = loaded.watchlist.sort
        self.table.sort_mode = sort if sort in SORT_MODES else "added"
        self.table.sync_rows()
        self._save()
        self.table.focus()
        if not keys:
            self.panel.show_outcome("the watchlist is empty: press a and type a code such as 7203")
        self.set_interval(FRAME_SECONDS, self._frame)
        self.set_interval(STATUS_SECONDS, self._update_status)
        if self._tune_gc:
            self.set_timer(SETTLE_GC_SECONDS, settle_gc)
        if self._start_kind == "kabu" and not self._password:
            self._ask_password()
        else:
            await self._start_feed(self._start_kind)

    # -- the feed --------------------------------------------------------------------------------

    async def _start_feed(self, kind: str) -> None:
        """Close the current feed (and the embedded server) and start ``kind`` on the watchlist."""
        await self._stop_feed()
        if kind != "kabu":
            server = self._demo_server() if self._demo_server is not None else _default_demo_server()
            await server.__aenter__()
            self._server = server
            feed = Feed(server.base_url, kind, name=kind, max_symbols=self.max_symbols)
        else:
            feed = Feed(self._base_url, Secret.of(self._password), name="kabu", max_symbols=self.max_symbols,
                        transport=self._rest_transport)  # fmt: skip
        feed.set_watch(self._watched_keys())
        feed.on_registered = lambda keys: self._registered_late(feed, keys)
        feed.on_refused = lambda refused: self._refused_by_station(feed, refused)
        if self._record_path is not None:
            self._start_recording(feed)
        self.feed = feed
        self._feed_worker = self._run_feed(feed)
        self._update_status()

    def _start_recording(self, feed: Feed) -> None:
        """Append every frame ``feed`` receives to the --record file (a new header per feed)."""
        try:
            recorder = Recorder(self._record_path, feed.watch, source=feed.name)  # type: ignore[arg-type]
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

        feed.on_frame = record

    async def _stop_feed(self) -> None:
        worker, feed, server = self._feed_worker, self.feed, self._server
        self._feed_worker = self.feed = self._server = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        if feed is not None:
            await feed.close()
        if server is not None:
            await server.aclose()

    @work(group="feed", exit_on_error=False)
    async def _run_feed(self, feed: Feed) -> None:
        late = False
        refused: list[tuple[SymbolKey, KabuError]] = []
        try:
            refused = await feed.start()
        except KabuError as exc:
            if not exc.transient:  # a wrong password, the API turned off...: asking again won't help
                feed.status = FeedStatus("error", str(exc))
                self._on_feed_status(feed, feed.status)
                self.panel.show_outcome(f"{feed.name}: the station refused: {exc}", "error")
                if exc.code == WRONG_PASSWORD_CODE and feed is self.feed:
                    # Forgotten, and asked again: a mistyped password must not stick until a restart.
                    self._password = None
                    self._ask_password(refused=str(exc))
                return
            # The station is not logged in yet, say: the socket loop below keeps asking.
            self.panel.show_outcome(f"{feed.name}: {exc}; retrying", "error")
            late = True
        except StationUnreachable as exc:
            # The socket loop below retries with back-off and registers once it connects; the first
            # snapshots are fetched then (after the close nothing is pushed to fill the board).
            self.panel.show_outcome(f"{feed.name}: {exc}; retrying", "error")
            late = True
        else:
            if feed.watch and not refused:  # (a refusal is said by on_refused, and stays said)
                self.panel.show_outcome(
                    f"{feed.name}: {len(feed.rest.registered)}/{feed.rest.max_symbols} registered", "ok"
                )
            self._fetch_boards(feed, list(feed.watch))

        def on_status(status: FeedStatus) -> None:
            nonlocal late
            if late and status.state == "live":
                late = False
                self.panel.show_outcome(f"{feed.name}: connected", "ok")
                self._fetch_boards(feed, list(feed.watch))
            self._on_feed_status(feed, status)

        await feed.run(self.board.apply, self.board.reject, on_status)

    def _registered_late(self, feed: Feed, keys: list[SymbolKey]) -> None:
        """The feed registered ``keys`` on a retry (the station was down, failing or logged out)."""
        if feed is self.feed:
            names = ", ".join(str(key) for key in keys)
            count = f"{len(feed.rest.registered)}/{feed.rest.max_symbols}"
            self.panel.show_outcome(f"{names} registered ({count})", "ok")
        self._fetch_boards(feed, keys)  # nothing is pushed after the close: the snapshots fill the rows

    def _refused_by_station(self, feed: Feed, refused: list[tuple[SymbolKey, KabuError]]) -> None:
        """Watched symbols the station refused (unknown to it, or over its limit). They stay on the
        board and in the watchlist, marked, since another feed may know them (the demo's market is
        not the exchange); this feed does not watch them."""
        if feed is not self.feed:
            return
        for key, exc in refused:
            self.board.refuse(str(key), f"not registered on {feed.name}: {exc}")
        key, exc = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        self.panel.show_outcome(f"{key} not registered on {feed.name}: {exc}{more}", "error")

    def _on_feed_status(self, feed: Feed, status: FeedStatus) -> None:
        if feed is self.feed:
            self._update_status()

    @work(group="rest", exit_on_error=False)
    async def _fetch_boards(self, feed: Feed, keys: list[SymbolKey]) -> None:
        """The first snapshot over REST: Kabu pushes nothing after the close, so this fills the board."""

        def apply_if_empty(quote: Quote) -> None:
            row = self.board.rows.get(quote.key)
            if row is None and parse_symbol(quote.key) not in feed.watch:
                # Removed while its GET was on the way, and the GET registered it again.
                self._unregister_symbol(feed, parse_symbol(quote.key), quiet=True)
            elif feed is self.feed and row is not None and row.quote is None:
                self.board.apply(quote)

        def wanted(key: SymbolKey) -> bool:
            # Asked lazily, just before each GET: GET /board registers its symbol as a side effect
            # (Kabu does so too), so a symbol removed meanwhile must not be asked for; a row the
            # socket has filled meanwhile needs no snapshot (a REST call less under the rate limit);
            # and a feed switched away from (its client closed) is asked nothing more.
            row = self.board.rows.get(str(key))
            return feed is self.feed and key in feed.watch and (row is None or row.quote is None)

        failures = await feed.fetch_boards(filter(wanted, keys), apply_if_empty)
        if failures and feed is self.feed:
            key, exc = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            self.panel.show_outcome(f"board of {key} failed: {exc}{more}", "error")

    def _watched_keys(self) -> list[SymbolKey]:
        return [parse_symbol(key) for key in self.board.rows]

    # -- the frame clock -------------------------------------------------------------------------

    def _frame(self) -> None:
        if not self.is_running:
            # Shutting down without App.exit() (Pilot's run_test does so): timers still fire while
            # the widgets are taken down, and the panel would look for a child already gone.
            return
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
        replay = self._server.replay if self._server is not None else None
        if replay is not None and replay.finished.is_set() and status.state == "live":
            status = FeedStatus("live", f"end of the recording ({replay.sent} frames replayed)")
        rejection = self.board.last_rejection
        self._status_bar.show(
            StatusSnapshot(
                feed=feed.name if feed is not None else self._start_kind,
                status=status,
                rate=self._rate,
                last_message_at=self.board.last_message_at,
                rejected=self.board.rejected,
                unwatched=self.board.unwatched,
                last_rejection=rejection.reason if rejection is not None else None,
                symbols=len(self.board),
                max_symbols=self.max_symbols,
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
        key = str(event.key)
        self.table.focus()
        if key in self.board:
            self.table.move_cursor_to(key)
            self.panel.show_outcome(f"{key} is already on the board")
            return
        if len(self.board) >= self.max_symbols:
            self.panel.show_outcome(
                f"{key} not added: 4002006 over the symbol limit: at most {self.max_symbols} symbols", "error"
            )
            return
        previous = self.table.cursor_key
        self.board.add(key)
        self.table.sync_rows()
        self.table.move_cursor_to(key)
        self._save()
        if self.feed is not None:
            self.panel.show_outcome(f"registering {key}…")
            self._register_symbol(self.feed, event.key, previous)

    @work(group="rest", exit_on_error=False)
    async def _register_symbol(self, feed: Feed, key: SymbolKey, previous: str | None) -> None:
        """Register ``key``; if the station refuses it, take the row away again."""
        try:
            registered = await feed.register([key])
        except KabuError as exc:
            if exc.transient:  # the station failed, it did not refuse: the feed asks again
                self.panel.show_outcome(f"{key} kept on the watchlist, not registered yet: {exc}", "error")
                return
            if feed is self.feed:
                self._drop(str(key))
                if previous is not None:
                    self.table.move_cursor_to(previous)
            self.panel.show_outcome(f"{key} not registered: {exc}", "error")
            return
        except StationUnreachable as exc:
            self.panel.show_outcome(f"{key} kept on the watchlist, not registered yet: {exc}", "error")
            return
        self.panel.show_outcome(f"{key} registered ({len(registered)}/{feed.rest.max_symbols})", "ok")
        await self._fetch_boards(feed, [key]).wait()

    def action_remove(self) -> None:
        key = self.table.cursor_key
        if key is None:
            self.panel.show_outcome("nothing to remove: the board is empty")
            return
        refused = self.board.rows[key].note is not None
        self._drop(key)
        if refused:  # the station never registered it: nothing to unregister
            self.panel.show_outcome(f"{key} removed")
        elif self.feed is not None:
            self._unregister_symbol(self.feed, parse_symbol(key))

    def _drop(self, key: str) -> None:
        if self.board.remove(key):
            self.table.sync_rows()
            self._save()

    @work(group="rest", exit_on_error=False)
    async def _unregister_symbol(self, feed: Feed, key: SymbolKey, quiet: bool = False) -> None:
        """Unregister ``key``; ``quiet`` for a clean-up the user did not ask for (failures still show)."""
        try:
            registered = await feed.unregister([key])
        except (KabuError, StationUnreachable) as exc:
            self.panel.show_outcome(f"{key} removed from the board; unregistering failed: {exc}", "error")
            return
        if not quiet:
            self.panel.show_outcome(f"{key} unregistered ({len(registered)}/{feed.rest.max_symbols})", "ok")

    def _save(self) -> None:
        if self._store is None:
            return
        error = self._store.save(Watchlist(symbols=self._watched_keys(), sort=self.table.sort_mode))
        if error and error != self._save_error:
            self.notify(error, title="watchlist not saved", severity="error", timeout=12)
        self._save_error = error

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A feed or REST worker raised what nothing expected (a bug): say so, rather than leave
        "registering…" or a "live" feed that no longer runs on screen (Textual would say nothing)."""
        worker, error = event.worker, event.worker.error
        if event.state is not WorkerState.ERROR or worker.group not in ("feed", "rest"):
            return
        what = f"unexpected error: {type(error).__name__}: {error}"
        self.panel.show_outcome(what, "error")
        if worker is self._feed_worker and self.feed is not None:
            self.feed.status = FeedStatus("error", f"the feed stopped: {what}")
            self._update_status()

    # -- the rest of the keys ----------------------------------------------------------------------

    @on(QuoteTable.Highlighted)
    def _highlighted(self, event: QuoteTable.Highlighted) -> None:
        self._panel_at = time.monotonic()
        self.panel.show_row(self.board.rows.get(event.key) if event.key else None)

    def action_cycle_sort(self) -> None:
        table = self.table
        table.sort_mode = SORT_MODES[(SORT_MODES.index(table.sort_mode) + 1) % len(SORT_MODES)]
        self._save()
        self._update_status()

    async def action_switch_feed(self) -> None:
        current = self.feed.name if self.feed is not None else self._start_kind
        if current != "kabu":
            if self._password:
                await self._switch_to("kabu")
            else:
                self._ask_password()
        else:
            await self._switch_to(self.demo_name)

    def _ask_password(self, refused: str | None = None) -> None:
        async def got(password: Secret | None) -> None:
            if password:
                self._password = password
                await self._switch_to("kabu")
            elif refused is None:
                self.panel.show_outcome("Kabu Station not opened: no password given")

        self.push_screen(PasswordScreen(self._base_url, refused), got)

    async def _switch_to(self, kind: str) -> None:
        self._start_kind = kind
        self.panel.show_outcome(f"switching to the {kind} feed…")
        # The old feed's prices must not pass for the new feed's: rows wait for fresh quotes.
        self.board.forget_quotes()
        await self._start_feed(kind)
        self.panel.show_row(self.board.rows.get(self.table.cursor_key or ""))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self._stop_feed()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self._stop_feed()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Add symbol", "Type a code to register (a)", self.action_add)
        yield SystemCommand("Remove symbol", "Remove the highlighted symbol (d)", self.action_remove)
        yield SystemCommand("Switch feed", "Demo ↔ Kabu Station (f)", self.action_switch_feed)
        yield SystemCommand("Cycle sort", "As added, code, change %, volume (s)", self.action_cycle_sort)
        yield SystemCommand("Keys", "Show the help screen (?)", self.action_help)


def settle_gc(gen0_threshold: int = GC_GEN0_THRESHOLD) -> None:
    """Make the garbage collector cheap for a board that runs all day.

    Every repainted row makes a few Textual Strips, each with a handful of small caches: thousands
    of short-lived containers a second at 1000 quotes/s, so the collector ran some 70 times a second
    and each full pass walked the whole start-up heap (Textual's DOM, CSS, caches): 7 % of a core,
    measured, and the slowest frames. Freezing what exists once the board is up takes that heap out
    of every later pass, and a higher first threshold makes the young passes rarer; together they
    measured 2.9 %. Reference counting still frees almost everything at once; only cycles wait.
    What is frozen is never collected if it turns into cyclic garbage: the first feed's objects,
    once, after a switch of feed (measured: 1.5 MB more after 12 switches than without).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


def _default_demo_server() -> TestServer:
    from quoteboard.server import TestServer  # the server stack loads only when the demo runs

    return TestServer()
