"""The feed: Kabu's PUSH socket plus its REST client, kept alive for a whole trading day.

One :class:`Feed` serves both the real station and the demo (the demo is this same client pointed at
the embedded test server). It reports status changes (connecting, live, reconnecting with the
attempt and delay, error) and hands every decoded quote to a callback, which for the board is
``Board.apply``: the hot path has no queue and no extra task in it. An optional ``on_frame`` hook sees
every frame as received, before decoding (``--record`` writes them with :class:`quoteboard.record.Recorder`).

Kabu specifics that shape this module (see shared/kabusapi/README.md):
- the socket takes no token and answers no WebSocket ping, so keepalive pings are off (with
  websockets' defaults the connection would die after ~40 s); death is seen as the socket closing;
- the station serves one socket: a new one closes the old, so we never open two (and when another
  client's newer socket closes ours, the status says so);
- registrations normally survive a reconnect, but not a station restart or the early-morning
  logout: after each reconnect the watched symbols are registered again (PUT /register is
  idempotent and answers the full list), and while the socket is up, symbols whose registration
  found the station unreachable are registered again with back-off.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from quoteboard.kabu.errors import NOT_REGISTERED_CODE, KabuError
from quoteboard.kabu.protocol import (
    DEFAULT_BASE_URL,
    Quote,
    Rejection,
    SymbolKey,
    decode_frame,
    websocket_url,
)
from quoteboard.kabu.rest import DEFAULT_MAX_SYMBOLS, KabuRest, StationUnreachable
from quoteboard.kabu.text import printable
from quoteboard.secret import Secret

if TYPE_CHECKING:
    import httpx

__all__ = ["Feed", "FeedStatus", "backoff_delay"]

MAX_FRAME: Final = 1 << 20  # 1 MiB; a full board snapshot is about 2 KB
FIRST_DELAY: Final = 0.5
MAX_DELAY: Final = 30.0
#: A connection that stayed up this long resets the back-off.
STABLE_AFTER: Final = 10.0

State = Literal["idle", "connecting", "live", "reconnecting", "error", "closed"]


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Where the feed stands. ``attempt``/``delay`` are set while reconnecting."""

    state: State
    detail: str = ""
    attempt: int = 0
    delay: float = 0.0

    def describe(self) -> str:
        if self.state == "reconnecting":
            text = f"reconnecting in {self.delay:.1f} s, attempt {self.attempt}"
        else:
            text = self.state
        return f"{text}: {self.detail}" if self.detail else text


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: attempt 1 waits 0.25-0.5 s, doubling, capped at 30 s."""
    base = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1))
    return base * (rng or random).uniform(0.5, 1.0)


QuoteHandler = Callable[[Quote], object]
#: Called with each raw frame (bytes as received) and its receive time, before decoding.
FrameHandler = Callable[[bytes, float], object]
RejectHandler = Callable[[Rejection], object]
StatusHandler = Callable[[FeedStatus], object]
#: Called with the symbols the feed registered by itself, later than asked (the station was down).
RegisteredHandler = Callable[[list[SymbolKey]], object]
#: Called with the watched symbols the station refused (and the feed no longer watches).
RefusedHandler = Callable[[list[tuple[SymbolKey, KabuError]]], object]


class Feed:
    """A Kabu station (real or simulated): REST calls and the PUSH stream with reconnection.

    ``transport`` goes to the REST client's httpx client (tests inject faults with it).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        password: Secret | str = "",
        *,
        name: str = "kabu",
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
        rest: KabuRest | None = None,
        on_frame: FrameHandler | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        #: Sees every frame before it is decoded (a recorder); read when a connection opens.
        self.on_frame = on_frame
        #: Told which symbols a retry registered late: after the close nothing is pushed for them,
        #: so the board fetches their snapshots.
        self.on_registered: RegisteredHandler | None = None
        #: Told which watched symbols the station refused when the watchlist was registered (a code
        #: delisted overnight, a hand-edited watchlist): they are watched no more.
        self.on_refused: RefusedHandler | None = None
        self.base_url = base_url.rstrip("/")
        try:
            self.ws_url = websocket_url(self.base_url)
            self._bad_url = ""
        except ValueError as exc:
            # Not raised here: this frame holds the password, and a crash report that shows locals
            # (Textual's does) would print it. start() and run() say what is wrong instead.
            self.ws_url, self._bad_url = "", str(exc)
        self.rest = rest or KabuRest(self.base_url, password, max_symbols=max_symbols, transport=transport)
        #: The symbols this feed keeps registered, in the order they were added.
        self.watch: dict[SymbolKey, None] = {}
        self.status = FeedStatus("idle")
        self.connections = 0
        self.received = 0
        self.rejected = 0
        self._ws: ClientConnection | None = None
        self._rng = random.Random()
        #: Set when a registration found the station unreachable: retried while the socket is up.
        self._unregistered = asyncio.Event()

    def __repr__(self) -> str:
        return f"Feed({self.name!r}, {self.base_url!r}, {self.status.state})"

    # -- REST -------------------------------------------------------------------------------------

    async def start(self) -> list[tuple[SymbolKey, KabuError]]:
        """Get a token and register the watched symbols, raising what goes wrong; returns the
        symbols the station refused (see :meth:`_register_watch`).

        Headless callers (``quoteboard stream``) call this first so a wrong password or a closed
        station is one clear error before any streaming starts.
        """
        if self._bad_url:
            raise StationUnreachable(self.base_url, self._bad_url)
        await self.rest.token()
        return await self._register_watch()

    async def _register_watch(self) -> list[tuple[SymbolKey, KabuError]]:
        """Register every watched symbol. Kabu refuses a whole PUT for one bad symbol, so when it
        does, each symbol is registered on its own (paced under the rate limit); those refused stop
        being watched, are told to :attr:`on_refused` and returned. Other errors are raised."""
        keys = list(self.watch)
        if not keys:
            return []
        try:
            await self.rest.register(keys)
            return []
        except KabuError as exc:
            if not exc.refuses_symbols:
                raise
        refused: list[tuple[SymbolKey, KabuError]] = []
        for i, key in enumerate(keys):
            if i:
                await asyncio.sleep(1.0 / 8)
            try:
                await self.rest.register([key])
            except KabuError as exc:
                if not exc.refuses_symbols:
                    raise
                refused.append((key, exc))
                self.watch.pop(key, None)
        if refused and self.on_refused is not None:
            self.on_refused(refused)
        return refused

    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Register ``keys`` at the station and keep them registered across reconnects.

        If the station cannot be reached or fails (a transient :class:`KabuError`), the error is
        raised (to be shown) but the keys are watched all the same, and :meth:`run` registers them
        once the station answers. A refusal (no such symbol, the limit...) watches nothing.
        """
        keys = list(keys)
        try:
            registered = await self.rest.register(keys)
        except (KabuError, StationUnreachable) as exc:
            if _worth_retrying(exc):
                self.watch.update(dict.fromkeys(keys))
                self._unregistered.set()
            raise
        for key in keys:
            self.watch[key] = None
        return registered

    async def unregister(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Stop watching ``keys`` and unregister them at the station. Returns what is still registered.

        A station that had none of them registered (4001020: it restarted, or was logged out, since)
        is already where the caller wants it: that is not an error.
        """
        keys = list(keys)
        for key in keys:
            self.watch.pop(key, None)
        try:
            return await self.rest.unregister(keys)
        except KabuError as exc:
            if exc.code != NOT_REGISTERED_CODE:
                raise
        self.rest.registered = [key for key in self.rest.registered if key not in keys]
        return self.rest.registered

    async def fetch_boards(
        self, keys: Iterable[SymbolKey], on_quote: QuoteHandler, per_second: float = 8.0
    ) -> list[tuple[SymbolKey, Exception]]:
        """GET /board for each key, paced under Kabu's ~10 requests/s, handing each to ``on_quote``.

        Kabu pushes nothing after the close or over lunch, so this is how a board opened in the
        evening shows prices. Returns the keys that failed with their errors (nothing is raised).
        """
        failures: list[tuple[SymbolKey, Exception]] = []
        for i, key in enumerate(keys):
            if i:
                await asyncio.sleep(1.0 / per_second)
            try:
                quote = await self.rest.board(key)
            except (KabuError, StationUnreachable) as exc:
                failures.append((key, exc))
                continue
            quote.received_at = time.time()
            on_quote(quote)
        return failures

    def set_watch(self, keys: Iterable[SymbolKey]) -> None:
        """Replace the watched symbols without a REST call; :meth:`run` registers them on connect."""
        self.watch = dict.fromkeys(keys)

    # -- PUSH -------------------------------------------------------------------------------------

    async def run(
        self,
        on_quote: QuoteHandler,
        on_reject: RejectHandler | None = None,
        on_status: StatusHandler | None = None,
    ) -> None:
        """Stream quotes until cancelled, reconnecting forever with back-off.

        Each decoded quote goes to ``on_quote``; each undecodable frame (or one over the size cap,
        which costs the socket) is counted and goes to ``on_reject``; each status change to
        ``on_status``. Returns only by cancellation (or after :meth:`close`), or at once with an
        "error" status if the base URL cannot be used.

        Back-off: a socket that delivered quotes and then dropped is retried from the first, short
        step; one that failed to open, delivered nothing, or that the station closed on purpose
        (code 1000: another client's newer socket, say) keeps growing the delay, so two clients
        fighting over Kabu's one socket do not hammer it.
        """

        def report(status: FeedStatus) -> None:
            self.status = status
            if on_status is not None:
                on_status(status)

        if self._bad_url:
            report(FeedStatus("error", self._bad_url))
            return
        attempt = 0
        while self.status.state != "closed":
            report(FeedStatus("connecting", self.ws_url, attempt=attempt))
            opened_at = time.monotonic()
            delivered = False
            try:
                ws = await connect(
                    self.ws_url,
                    ping_interval=None,  # Kabu answers no ping: keepalive would kill the socket
                    max_size=MAX_FRAME,
                    compression=None,  # the station doesn't deflate
                    open_timeout=5,
                    close_timeout=2,
                    max_queue=64,
                )
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                detail = _describe_connect_error(exc)
            except InvalidURI as exc:
                report(FeedStatus("error", f"bad websocket URL: {exc}"))
                raise
            else:
                # Only connecting is guarded above: an exception raised by a callback (a closed
                # stdout, say) must end run(), not pass for a network failure and reconnect.
                self._ws = ws
                self.connections += 1
                opened_at = time.monotonic()
                registrar = asyncio.create_task(self._keep_registered(report))
                try:
                    report(FeedStatus("live"))
                    await self._ensure_registered(report)
                    received = self.received
                    closed = await self._pump(ws, on_quote, on_reject)
                    detail = _describe_close(closed)
                    delivered = self.received > received and not _closed_on_purpose(closed)
                    if _too_big(closed):  # thrown away like any bad frame, and counted (size: at least)
                        self._reject(Rejection(f"a frame over the {MAX_FRAME:,}-byte limit", MAX_FRAME + 1),
                                     on_reject)  # fmt: skip
                finally:
                    registrar.cancel()
                    self._ws = None
                    await ws.close()
            if self.status.state == "closed":
                break
            if delivered or time.monotonic() - opened_at >= STABLE_AFTER:
                attempt = 0
            attempt += 1
            delay = backoff_delay(attempt, self._rng)
            report(FeedStatus("reconnecting", detail, attempt=attempt, delay=delay))
            await asyncio.sleep(delay)

    async def _pump(
        self, ws: ClientConnection, on_quote: QuoteHandler, on_reject: RejectHandler | None
    ) -> ConnectionClosed:
        """The hot loop: frames in, quotes out. Returns how the socket ended."""
        clock = time.time
        on_frame = self.on_frame
        try:
            while True:
                # decode=False: msgspec reads UTF-8 bytes directly, skipping a str round trip.
                frame = await ws.recv(decode=False)
                received_at = clock()
                if on_frame is not None:
                    on_frame(frame, received_at)
                decoded = decode_frame(frame, received_at)
                if type(decoded) is Quote:
                    self.received += 1
                    on_quote(decoded)
                else:
                    self.rejected += 1
                    if on_reject is not None:
                        on_reject(decoded)  # type: ignore[arg-type]
        except ConnectionClosed as exc:
            return exc

    def _reject(self, rejection: Rejection, on_reject: RejectHandler | None) -> None:
        self.rejected += 1
        if on_reject is not None:
            on_reject(rejection)

    async def _ensure_registered(self, report: Callable[[FeedStatus], None]) -> None:
        """After a (re)connect, register again whatever the station may have lost."""
        if not self.watch:
            return
        if self.connections == 1 and set(self.watch) <= set(self.rest.registered):
            return  # registered just before this first connection
        try:
            await self._register_watch()
        except (KabuError, StationUnreachable) as exc:
            # The socket still streams what the station has registered; say what failed.
            report(FeedStatus("error", f"re-registering {len(self.watch)} symbols failed: {exc}"))
            if _worth_retrying(exc):
                self._unregistered.set()

    async def _keep_registered(self, report: Callable[[FeedStatus], None]) -> None:
        """While the socket is up, register (with back-off) the watched symbols a REST call could not
        register because the station did not answer or failed: the socket streams only registered
        symbols."""
        attempt = 0
        while True:
            await self._unregistered.wait()
            attempt += 1
            await asyncio.sleep(backoff_delay(attempt, self._rng))
            missing = [key for key in self.watch if key not in self.rest.registered]
            try:
                if missing:
                    await self.rest.register(missing)
            except (KabuError, StationUnreachable) as exc:
                if _worth_retrying(exc):
                    continue
                # refused, not unreachable: asking again would not help
                report(FeedStatus("error", f"registering {len(missing)} symbols failed: {exc}"))
            else:
                if self.status.state == "error":
                    report(FeedStatus("live"))
                if missing and self.on_registered is not None:
                    self.on_registered(missing)
            self._unregistered.clear()
            attempt = 0

    async def close(self) -> None:
        """Close the socket and the REST client. :meth:`run` returns (or is cancelled) after."""
        self.status = FeedStatus("closed")
        ws = self._ws
        if ws is not None:
            await ws.close()
        await self.rest.aclose()


def _worth_retrying(exc: KabuError | StationUnreachable) -> bool:
    """No answer, or a station that failed (not one that refused): registering again may work."""
    return isinstance(exc, StationUnreachable) or exc.transient


def _station_closed(exc: ConnectionClosed) -> bool:
    """The station sent its close frame first (not an answer to ours)."""
    return exc.rcvd is not None and (exc.sent is None or bool(exc.rcvd_then_sent))


def _closed_on_purpose(exc: ConnectionClosed) -> bool:
    return _station_closed(exc) and exc.rcvd is not None and exc.rcvd.code == 1000


def _too_big(exc: ConnectionClosed) -> bool:
    return not _station_closed(exc) and exc.sent is not None and exc.sent.code == 1009


def _describe_close(exc: ConnectionClosed) -> str:
    if _station_closed(exc):
        frame = exc.rcvd
        assert frame is not None
        reason = printable(frame.reason)  # the station's words, going to a terminal
        text = f"closed by the station (code {frame.code}{': ' + reason if reason else ''})"
        if "superseded" in reason or "new connection" in reason:
            text += ": another PUSH socket was opened to it, and Kabu serves one at a time"
        return text
    if _too_big(exc):
        return f"a frame over the {MAX_FRAME:,}-byte limit: the feed closed the socket (code 1009)"
    if exc.sent is not None:
        reason = f": {exc.sent.reason}" if exc.sent.reason else ""
        return f"closed by the feed (code {exc.sent.code}{reason})"
    return "the connection dropped (no close frame)"


def _describe_connect_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is kabuステーション running with the API enabled?)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc) or type(exc).__name__
    return text
