"""The feed: Kabu's PUSH socket plus its REST client, kept alive for a whole trading day.

One :class:`KabuFeed` serves both the real station and the demo (the demo is this same client pointed
at the embedded test server). Its events (:class:`~quoteboard.feeds.contract.FeedEvents`) say status
changes (connecting, live, reconnecting with the attempt and delay, error) and hand every decoded
quote to the quote channel's subscribers, which for the board is ``Board.apply``: the hot path has no
queue and no extra task in it. The frame channel sees every frame as received, before decoding
(``--record`` writes them with :class:`quoteboard.history.recording.Recorder`).

Kabu specifics that shape this module (see contract/kabusapi/README.md):
- the socket takes no token and answers no WebSocket ping, so keepalive pings are off (with
  websockets' defaults the connection would die after ~40 s); death is seen as the socket closing;
- the station serves one socket: a new one closes the old, so we never open two (and when another
  client's newer socket closes ours, the status says so);
- registrations normally survive a reconnect, but not a station restart or the early-morning
  logout: after each reconnect the watched symbols are registered again (PUT /register is
  idempotent and answers the full list), and while the socket is up, symbols whose registration
  found the station unreachable are registered again with back-off;
- the socket presents the REST client's one token (Kabu ignores it; a relay streams to a socket the
  symbols registered under its token), so when the REST client takes a new token (a 401: the
  station or relay restarted, the relay forgot this client), the socket is reopened with it and
  everything watched is registered again: socket and registrations move together.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidProxy, InvalidStatus, InvalidURI

from quoteboard.feeds.closing import (
    MAX_FRAME,
    TAKEN,
    closed_on_purpose,
    describe_close,
    describe_connect_error,
    too_big,
)
from quoteboard.feeds.contract import STATES, FeedStatus, Refusals, State, Taken
from quoteboard.feeds.kabu_registering import RegisteringFeed
from quoteboard.feeds.policy import LOGGED_OUT_CODES, Next, ReconnectPolicy, backoff_delay
from quoteboard.feeds.watchdog import DEFAULT_STALL_AFTER, Watchdog
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE, KabuClientError, KabuError, StationUnreachable
from quoteboard.kabu.net import ws_proxy
from quoteboard.kabu.protocol import DEFAULT_BASE_URL, Quote, Rejection, decode_frame, websocket_url
from quoteboard.kabu.reference import symbol_facts
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.kabu.rest import KabuRest
from quoteboard.kabu.text import printable
from quoteboard.secret import Secret

if TYPE_CHECKING:
    import httpx

    from quoteboard.kabu.positions import Position
    from quoteboard.kabu.protocol import SymbolKey
    from quoteboard.kabu.ranking import Ranking
    from quoteboard.kabu.reference import PrimaryExchange, Regulation, SymbolFacts
    from quoteboard.server import TestServer

__all__ = ["KabuFeed", "backoff_delay"]


class KabuFeed(RegisteringFeed):
    """A Kabu station (real or simulated): REST calls and the PUSH stream with reconnection.

    What it reports goes to the subscribers of its :attr:`events`. It offers the account's
    positions and says whether its base URL is a relay's (capabilities of the contract).

    ``server`` is an embedded station the feed is pointed at (the demo's): closed with the feed.
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
        transport: httpx.AsyncBaseTransport | None = None,
        server: TestServer | None = None,
        give_way: bool = True,
        stall_after: float = DEFAULT_STALL_AFTER,
        policy: ReconnectPolicy | None = None,
        relay_poll: float = 2.0,
    ) -> None:
        super().__init__(name, max_symbols)
        self.server = server
        #: When to try again, and the state meanwhile (tests give short cadences).
        self.policy = policy or ReconnectPolicy(give_way=give_way)
        #: Seconds between two reads of ``/relay/status`` while live behind a relay.
        self.relay_poll = relay_poll
        self._is_relay: bool | None = None
        #: The status said is the relay's station's, not this socket's.
        self._relay_said = False
        #: The station logged out or refused the password: a token is asked for before the socket.
        self._away = False
        self.base_url = base_url.rstrip("/")
        try:
            self.ws_url = websocket_url(self.base_url)
            self._bad_url = ""
        except ValueError as exc:
            # Not raised here: this frame holds the password, and a crash report that shows locals
            # (Textual's does) would print it. start() and run() say what is wrong instead.
            self.ws_url, self._bad_url = "", str(exc)
        self.rest = rest or KabuRest(self.base_url, password, transport=transport)
        self._ws: ClientConnection | None = None
        #: The socket is being closed to reopen it with a new token: no back-off before that.
        self._moving = False
        self._closing: asyncio.Task[None] | None = None
        self.rest.on_renewed = self._follow_token
        #: Tells a stalled socket from a quiet market (see :meth:`_watch`).
        self.watchdog = Watchdog(stall_after)
        #: ``GET /board`` probes of the watchdog that failed (the station did not answer).
        self.probe_failures = 0

    @property
    def give_way(self) -> bool:
        """Stop, rather than take the socket back, when another program's socket closes ours twice
        in a minute: two clients would otherwise take it from each other all day."""
        return self.policy.give_way

    @give_way.setter
    def give_way(self, value: bool) -> None:
        self.policy.give_way = value

    def __repr__(self) -> str:
        return f"KabuFeed({self.name!r}, {self.base_url!r}, {self.status.state})"

    # -- REST -------------------------------------------------------------------------------------

    async def start(self) -> Refusals:
        """Get a token and register the watched symbols, raising what goes wrong; returns the
        symbols the station refused (see :meth:`_register_watch`).

        Headless callers (``quoteboard stream``) call this first so a wrong password or a closed
        station is one clear error before any streaming starts. A token already held, or being
        asked for by another call (the positions, say), is the one used: a second would be a second
        client of a relay (``rest.token()`` takes a fresh one where one is wanted).
        """
        if self._bad_url:
            raise StationUnreachable(self.base_url, self._bad_url)
        await self.rest.ensure_token()
        return await self._register_watch()

    def reconnect(self) -> None:
        """Reopen the socket at once and register everything watched again."""
        self._register_all = True
        self._reopen()

    async def positions(self) -> list[Position]:
        """GET /positions: every position the account holds (read only)."""
        return await self.rest.positions()

    async def symbol_facts(self, key: SymbolKey) -> SymbolFacts:
        """GET /symbol, decoded (asked only for a symbol registered: see :meth:`symbol`)."""
        answer = await self.symbol(key)
        try:
            return symbol_facts(answer)
        except ValueError as exc:
            raise KabuError(None, str(exc)) from None

    async def primary_exchange(self, code: str) -> PrimaryExchange:
        """GET /primaryexchange: the exchange ``code`` trades on by default."""
        return await self.rest.primary_exchange(code)

    async def regulations(self, key: SymbolKey) -> tuple[Regulation, ...]:
        """GET /regulations: the symbol's regulations, short selling's included."""
        return await self.rest.regulations(key)

    async def ranking(self, type_number: int, division: str) -> Ranking:
        """GET /ranking: the market's movers (registers nothing)."""
        return await self.rest.ranking(type_number, division)

    async def relay_status(self) -> dict[str, Any] | None:
        """``/relay/status`` when the base URL is a quoteboard relay's, else None."""
        return await self.rest.relay_status()

    def _follow_token(self, token: str) -> None:
        """The REST client took ``token`` in place of another, and an open socket presented the old
        one. The socket is closed for :meth:`run` to reopen at once with the new token and register
        everything watched again: Kabu keeps registrations across tokens, a relay has none under a
        new one (the registry is left as it is: the next register answers for the new token)."""
        self._register_all = True
        self._reopen()

    def _reopen(self) -> None:
        ws = self._ws
        if ws is not None and not self._moving:
            self._moving = True
            self._closing = asyncio.create_task(ws.close(1000, "a new token"))

    # -- PUSH -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream quotes until cancelled, reconnecting forever; the waits and the states between two
        sockets are the :attr:`policy`'s (:class:`~quoteboard.feeds.policy.ReconnectPolicy`).

        Each decoded quote goes to ``events.quote``; each undecodable frame (or one over the size cap,
        which costs the socket) is counted and goes to ``events.reject``; each status change to
        ``events.status``. Returns only by cancellation (or after :meth:`close`), at once with a
        "closed" status if the base URL cannot be used, or with "taken" when the feed gave the socket
        up to another program (:attr:`taken` set: :meth:`run` again takes it back). Each close on
        purpose by the station is a :class:`~quoteboard.feeds.contract.Taken` event.

        The feed is "live" once the socket is open and the station holds what is watched. A station
        that logged out (or refuses the password) closes the socket: the feed then asks for a token,
        quietly, at the policy's cadence, and opens the socket and registers everything again once
        one is issued. Nothing listening is "unreachable", retried at the same cadence.
        """
        policy = self.policy
        policy.reset()
        self.taken = False
        self._away = False
        if self._bad_url:
            self._report(FeedStatus("closed", self._bad_url))
            return
        reopened = False
        while not self.is_closed():
            delivered = False
            step: Next | None = None
            detail = ""
            if self._away:  # logged out, or the password refused: a token first, quietly
                try:
                    await self.rest.token()
                except KabuError as exc:
                    step, detail = policy.refused(time.monotonic(), exc.code), str(exc)
                except KabuClientError as exc:
                    step, detail = policy.failed_to_connect(time.monotonic(), nothing_listens=True), str(exc)
                else:
                    self._away = False
                    self._register_all = True
                    self._announce = True
            if step is None:
                step, detail, delivered = await self._connect_once(policy)
                if step is None:  # closed meanwhile
                    break
            if step.delay is None:
                self.taken = True
                self._report(FeedStatus("taken", TAKEN))
                return
            if self.is_closed():
                break
            moving, self._moving = self._moving, False
            if moving and (delivered or not reopened):
                # Closed to follow a new token: reopened at once, though not twice in a row without
                # a quote between (a station refusing each new token gets the back-off).
                reopened = True
                continue
            reopened = False
            if step.state in ("logged_out", "wrong_password"):
                self._away = True
                self._register_all = True  # the station forgot them at its logout
            self._report(FeedStatus(step.state, detail, attempt=step.attempt, delay=step.delay))
            await asyncio.sleep(step.delay)

    async def _connect_once(self, policy: ReconnectPolicy) -> tuple[Next | None, str, bool]:
        """Open the socket, register what the station lost, stream until it ends: what next, why,
        and whether it delivered quotes (None for what next: the feed was closed meanwhile)."""
        if not self._quiet():
            self._report(FeedStatus("connecting", self.ws_url, attempt=policy.attempt))
        # Kabu ignores the header; a relay gives the socket only this client's symbols by it.
        token, refusal = await self._token_for_socket()
        if refusal is not None:
            return policy.refused(time.monotonic(), refusal.code), str(refusal), False
        renewals = self.rest.renewals
        try:
            ws = await connect(
                self.ws_url,
                additional_headers={"X-API-KEY": token} if token else None,
                ping_interval=None,  # Kabu answers no ping: keepalive would kill the socket
                max_size=MAX_FRAME,
                compression=None,  # the station doesn't deflate
                open_timeout=5,
                close_timeout=2,
                max_queue=64,
                proxy=ws_proxy(self.ws_url),  # loopback never through a proxy
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            if isinstance(exc, InvalidStatus):  # a station that refuses the socket may be logged out
                refusal = await self._login_refused()
                if refusal is not None:
                    return policy.refused(time.monotonic(), refusal.code), str(refusal), False
            away = isinstance(exc, ConnectionRefusedError | TimeoutError)
            return (
                policy.failed_to_connect(time.monotonic(), nothing_listens=away),
                describe_connect_error(exc),
                False,
            )
        except InvalidURI as exc:
            self._report(FeedStatus("closed", f"bad websocket URL: {exc}"))
            raise
        except (ImportError, InvalidProxy) as exc:  # a SOCKS proxy without python-socks, a bad proxy URL
            why = "a SOCKS proxy needs: pip install python-socks" if isinstance(exc, ImportError) else exc
            self._report(
                FeedStatus("closed", f"the environment's proxy for {self.ws_url} cannot be used ({why})")
            )
            return None, "", False
        # Only connecting is guarded above: an exception raised by a handler (a closed stdout, say)
        # must end run(), not pass for a network failure and reconnect.
        self._ws = ws
        self.connections += 1
        if self.rest.renewals != renewals:  # a new token while this one was opening
            self._reopen()
        registrar = asyncio.create_task(self._keep_registered())
        follower = asyncio.create_task(self._follow_relay())
        watch = asyncio.create_task(self._watch(ws))
        try:
            refusal = await self._ensure_registered()
            if refusal is not None:
                return policy.refused(time.monotonic(), refusal.code), str(refusal), False
            if self.is_closed():
                return None, "", False
            policy.opened(time.monotonic())
            self._report(FeedStatus("live", self._register_problem))
            announce, self._announce_keys = self._announce_keys, []
            if announce:
                self.events.registered.publish(announce)
            received = self.received
            closed = await self._pump(ws)
            on_purpose = closed_on_purpose(closed)
            delivered = self.received > received and not on_purpose
            step = policy.closed(time.monotonic(), delivered=delivered, on_purpose=on_purpose)
            if on_purpose:
                self.events.taken.publish(Taken(step.delay is None))
            if too_big(closed):  # thrown away like any bad frame, and counted (size: at least)
                self._reject(Rejection(f"a frame over the {MAX_FRAME:,}-byte limit", MAX_FRAME + 1))
            return step, describe_close(closed), delivered
        finally:
            registrar.cancel()
            follower.cancel()
            watch.cancel()
            self._ws = None
            await ws.close()

    async def _token_for_socket(self) -> tuple[str | None, KabuError | None]:
        """The token for the socket's header: the REST client's, asked for now if none is held (a
        socket without one is every symbol's at a relay). Kabu's socket needs none, so one refused
        for another reason is said in the status and the socket opens all the same; a station
        logged out or refusing the password is returned, for the policy to wait."""
        if self.rest.current_token is None:
            try:
                return await self.rest.ensure_token(), None
            except KabuError as exc:
                if exc.code in LOGGED_OUT_CODES or exc.code == WRONG_PASSWORD_CODE:
                    return None, exc
                self._report(FeedStatus("connecting", f"{self.ws_url} (no token: {exc})"))
            except KabuClientError as exc:
                if not self._quiet():
                    self._report(FeedStatus("connecting", f"{self.ws_url} (no token: {exc})"))
        return self.rest.current_token, None

    async def _login_refused(self) -> KabuError | None:
        """A fresh token, to tell a logged-out station (or a wrong password) from a passing refusal of
        the socket: the refusal when it is one of those, else None."""
        try:
            await self.rest.token()
        except KabuError as exc:
            if exc.code in LOGGED_OUT_CODES or exc.code == WRONG_PASSWORD_CODE:
                return exc
        except KabuClientError:
            pass  # unreachable now: the policy's own reading of the failed connect stands
        return None

    def _quiet(self) -> bool:
        """The station is away: it is asked again without a "connecting" between two tries."""
        return self.status.state in ("unreachable", "logged_out", "wrong_password")

    async def _follow_relay(self) -> None:
        """Behind a relay, this socket stays open while the relay's station is away: the relay's own
        state (``/relay/status``) is what this feed reports then, said to be the relay's."""
        if self._is_relay is None:
            self._is_relay = await self.rest.relay_status() is not None
        while self._is_relay:
            await asyncio.sleep(self.relay_poll)
            status = await self.rest.relay_status()
            station = status.get("station") if status is not None else None
            if not isinstance(station, dict):
                continue
            state, mine = station.get("state"), self.status.state
            if state in ("live", "quiet", "stalled", "connecting") or state not in STATES:
                if mine != "live" and self._relay_said:
                    self._relay_said = False
                    self._report(FeedStatus("live", self._register_problem))
                continue
            self._relay_said = True
            detail = f"at the relay: {printable(str(station.get('detail') or ''))}".rstrip(": ")
            self._report(FeedStatus(cast("State", state), detail, since=_epoch(station.get("since"))))

    async def _pump(self, ws: ClientConnection) -> ConnectionClosed:
        """The hot loop: frames in, quotes out. Returns how the socket ended."""
        clock = time.time
        frames, quotes = self.events.frame, self.events.quote
        saw = self.watchdog.saw
        try:
            while True:
                # decode=False: msgspec reads UTF-8 bytes directly, skipping a str round trip.
                frame = await ws.recv(decode=False)
                received_at = clock()
                # The subscriber tuples are read per frame (they may change while streaming) and
                # iterated in place: no call through publish(), no allocation on the hot path.
                for on_frame in frames.subscribers:
                    on_frame(frame, received_at)
                decoded = decode_frame(frame, received_at)
                if type(decoded) is Quote:
                    self.received += 1
                    saw(decoded)
                    for on_quote in quotes.subscribers:
                        on_quote(decoded)
                else:
                    assert isinstance(decoded, Rejection)
                    self._reject(decoded)
        except ConnectionClosed as exc:
            return exc

    def _reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        self.events.reject.publish(rejection)

    async def _watch(self, ws: ClientConnection) -> None:
        """While ``ws`` is up: with no frame for ``stall_after`` seconds, ask the station for one
        registered symbol's board now and then (:class:`~quoteboard.feeds.watchdog.Watchdog`). Newer
        trades there than PUSH brought: the socket is stalled, and is closed for :meth:`run` to
        reconnect. Otherwise the feed is quiet until the next frame."""
        dog = self.watchdog
        clock = time.monotonic
        dog.opened(clock())
        # A tick well under stall_after keeps the probe close to due, and at most 1 s late.
        tick = min(1.0, dog.stall_after / 4)
        quotes = self.events.quote

        def awake(_quote: Quote) -> None:
            quotes.unsubscribe(awake)
            if self.status.state == "quiet":
                self._report(FeedStatus("live"))

        try:
            while True:
                await asyncio.sleep(tick)
                now = clock()
                dog.frames(self.received + self.rejected, now)
                key = dog.due(now, self.registry.registered)
                if key is None:
                    continue
                try:
                    answer = await self.rest.board(key)
                except KabuClientError:
                    self.probe_failures += 1  # the socket's own end will say what is wrong
                    continue
                self.registry.station_added(key)  # GET /board registers its symbol (it already was)
                silent = f"no frame for {dog.silent_for(clock()):.0f} s"
                if dog.verdict(key, answer) == "stalled":
                    self._report(FeedStatus("stalled", f"{silent}, but {key} traded since at the station"))
                    self._register_all = True
                    self._closing = asyncio.create_task(ws.close(1000, "stalled"))
                    return
                if self.status.state == "live":
                    self._report(FeedStatus("quiet", f"{silent}; {key} has no newer trade at the station"))
                    quotes.subscribe(awake)
                dog.forget(self.registry.registered)
        finally:
            quotes.unsubscribe(awake)

    async def close(self) -> None:
        """Close the socket, the REST client and the embedded server. :meth:`run` returns (or is
        cancelled) after."""
        self.status = FeedStatus("closed")
        ws = self._ws
        if ws is not None:
            await ws.close()
        await self.rest.aclose()
        if self.server is not None:
            await self.server.aclose()


def _epoch(iso: object) -> float:
    """An ISO 8601 time from a relay as epoch seconds; now if it is missing or unreadable."""
    try:
        return datetime.fromisoformat(str(iso)).timestamp()
    except ValueError:
        return time.time()
