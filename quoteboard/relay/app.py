"""``quoteboard relay``: one PUSH socket and one token at the station, a Kabu-compatible API for many.

To its station the relay is one Kabu client, the same :class:`~quoteboard.feeds.kabu.KabuFeed` the board uses
(reconnects, a new token on 401, registering again after a restart or the early-morning logout). To
its clients it is a station: ``POST /token`` gives each its own token, registrations are counted per
client (:mod:`.book`) and the station holds their union, and ``/kabusapi/websocket`` serves many
sockets, each with only its client's symbols (every symbol for a socket without a token, as at the
station). The upstream read never waits for a client (:mod:`.fanout`).

REST: ``/board`` is answered from the latest frame when there is one; ``/symbol``,
``/primaryexchange`` and ``/regulations`` are forwarded and kept for the JST day, ``/ranking`` for
30 s (:mod:`.cache`); ``/positions``, ``/orders`` and ``/wallet/...`` are forwarded; orders are refused
unless ``allow_orders``. Everything sent to the station is paced under its ~10 requests a second, and a
client over its fair share of that gets 429, as the station would answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode

from quoteboard.feeds.contract import Channel, FeedStatus, Taken
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.history.source import CandleSource
from quoteboard.hosting import PUSH_PATH
from quoteboard.kabu.errors import KabuClientError, KabuError, SymbolLimitError
from quoteboard.kabu.protocol import Quote, SymbolKey, SymbolList
from quoteboard.relay.answers import (
    JSON_TYPE,
    Act,
    Asker,
    RelayError,
    TokenRequest,
    asker_of,
    decode_body,
    json_answer,
    not_allowed,
    not_found,
    path_symbol,
    peer_of,
    read_body,
    regist_list,
)
from quoteboard.relay.book import Book, Client, TooManyClients
from quoteboard.relay.cache import DAILY_PATHS, CachedGets
from quoteboard.relay.candles import CANDLES_PATH, candles_endpoint
from quoteboard.relay.fanout import BEHIND_LIMIT
from quoteboard.relay.pacing import Pacer
from quoteboard.relay.push import PushSocket, drain, send_frames
from quoteboard.relay.status import status_body
from quoteboard.secret import Secret

__all__ = ["RelayApp", "Say"]

#: Read-only account endpoints, forwarded as they are.
_ACCOUNT: Final = ("positions", "orders", "wallet/{rest:path}")
_ORDERS: Final = ("sendorder", "sendorder/future", "sendorder/option", "cancelorder")

Say = Callable[[str], object]
_T = TypeVar("_T")


class RelayApp:
    """The relay as a starlette app (:attr:`asgi`) around one upstream :class:`KabuFeed`.

    ``password``: what clients must give to ``POST /token`` (and sockets must present a token);
    None accepts the station's own password (``upstream_password``; any, for the demo).
    """

    def __init__(
        self,
        feed: KabuFeed,
        *,
        book: Book,
        password: Secret | None = None,
        upstream_password: Secret | None = None,
        allow_orders: bool = False,
        say: Say = print,
        clock: Callable[[], float] = time.monotonic,
        behind_limit: float = BEHIND_LIMIT,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.feed = feed
        self.behind_limit = behind_limit
        self.book = book
        self._password = password
        self._upstream_password = upstream_password
        self.allow_orders = allow_orders
        self._say = say
        self._clock = clock
        self._pacer = Pacer(clock=clock)
        self._lock = asyncio.Lock()  # registrations change the union one at a time
        #: The latest frame of each symbol, the bytes the station pushed (Kabu's are text frames).
        self.latest: dict[SymbolKey, bytes] = {}
        self._frame = b""
        #: Every decoded quote with its frame, after the sockets (the NATS publisher subscribes).
        self.quotes: Channel[[Quote, bytes]] = Channel()
        self._taken = False  # the station's socket was taken: said with the next reconnecting line
        self._last_line = ""
        self._sockets: set[PushSocket] = set()
        #: Which sockets get a symbol's frames; every-symbol sockets apart. Rebuilt on changes.
        self._routes: dict[SymbolKey, list[PushSocket]] = {}
        self._firehose: list[PushSocket] = []
        #: The GET answers kept for a while (/ranking) or the day (/symbol, /regulations ...).
        self.cached = CachedGets(self._get, self._registering_get, clock=wall_clock)
        #: Symbols no client wants that the station may still hold (an unregister failed).
        self._unwanted: set[SymbolKey] = set()
        self._unwanted_error = ""
        #: The day's candles for /relay/candles and kabu.ctl.candles: the tick store's (None: no history).
        self.history: CandleSource | None = None
        feed.events.frame.subscribe(self._on_frame)
        feed.events.quote.subscribe(self._on_quote)
        feed.events.status.subscribe(self._on_status)
        feed.events.taken.subscribe(self._on_taken)
        routes: list[Route | WebSocketRoute] = [
            Route("/relay/status", self.status, methods=["GET"]),
            Route(CANDLES_PATH, self._client_call(candles_endpoint(lambda: self.history)), methods=["GET"]),
            Route("/kabusapi/token", self.token, methods=["POST"]),
            Route("/kabusapi/register", self._client_call(self.register), methods=["PUT"]),
            Route("/kabusapi/unregister", self._client_call(self.unregister), methods=["PUT"]),
            Route("/kabusapi/unregister/all", self._client_call(self.unregister_all), methods=["PUT"]),
            Route("/kabusapi/board/{symbol}", self._client_call(self.board), methods=["GET"]),
            Route("/kabusapi/symbol/{symbol}", self._client_call(self.cached.symbol), methods=["GET"]),
            Route("/kabusapi/ranking", self._client_call(self.cached.ranking), methods=["GET"]),
            *(Route(path, self._client_call(self.cached.daily), methods=["GET"]) for path in DAILY_PATHS),
            WebSocketRoute(PUSH_PATH, self.push),
        ]
        for path in _ACCOUNT:
            routes.append(Route(f"/kabusapi/{path}", self._client_call(self.forward), methods=["GET"]))
        for path in _ORDERS:
            order = self._client_call(self.order, "order")
            routes.append(Route(f"/kabusapi/{path}", order, methods=["PUT", "POST"]))
        self.asgi = Starlette(
            routes=routes,
            exception_handlers={404: not_found, 405: not_allowed},
        )
        self.asgi.router.redirect_slashes = False  # /sendorder/ is an unknown path, not a redirect

    # -- upstream -----------------------------------------------------------------------------------

    def _on_frame(self, frame: bytes, received_at: float) -> None:
        self._frame = frame  # its quote follows at once (on_quote)

    def _on_quote(self, quote: Quote) -> None:
        key = quote.key
        frame = self._frame
        self.latest[key] = frame
        framed: bytes | None = None
        for sockets in (self._routes.get(key, ()), self._firehose):
            for socket in sockets:
                queue, write = socket.queue, socket.write
                # A socket whose sender is idle gets the frame now, serialized once for all of them;
                # one that is behind gets it through its queue, where the latest wins.
                if write is not None and not queue.sending and not queue:
                    if framed is None:
                        framed = Frame(Opcode.TEXT, frame).serialize(mask=False)
                    if write(framed):
                        continue
                queue.put(key, frame)
        for tap in self.quotes.subscribers:
            tap(quote, frame)

    def _on_taken(self, taken: Taken) -> None:
        self._taken = True

    def _on_status(self, status: FeedStatus) -> None:
        if status.state not in ("idle", "connecting", "closed"):
            line = f"station {status.describe()} ({self.book.count()} symbols)"
            taken, self._taken = self._taken, False
            if status.state == "reconnecting" and taken:
                line += (": another program may have opened the station's PUSH socket; the relay takes it "
                         "back: point that program at the relay")  # fmt: skip
            # A station away for an hour is asked again every 10 s: one line while nothing changes.
            if line != self._last_line:
                self._say(line)
            self._last_line = line

    def _reroute(self) -> None:
        routes: dict[SymbolKey, list[PushSocket]] = {}
        firehose = []
        for socket in self._sockets:
            if socket.client is None:
                firehose.append(socket)
            else:
                for key in socket.client.symbols:
                    routes.setdefault(key, []).append(socket)
        self._routes, self._firehose = routes, firehose

    async def _upstream(self, client: Client | None, call: Callable[[], Awaitable[_T]]) -> _T:
        """Make one call to the station in its turn (``client``'s, within its share; None: the
        relay's own); its errors in Kabu's words."""
        if client is not None:
            self._pacer.admit(client)
        await self._pacer.wait_turn()
        try:
            return await call()
        except KabuError as exc:
            code = exc.code if exc.code is not None else 4001001
            raise RelayError.relayed(exc.http_status or 500, code, exc.message or exc.explanation) from None
        except KabuClientError as exc:
            raise RelayError(4001001, f"the relay cannot reach the station: {exc}") from None

    # -- the REST API ------------------------------------------------------------------------------

    def admit(self, act: Act, asker: Asker) -> Client | None:
        """The one auth check, every way in goes through it: may ``asker`` do ``act``? Its client
        (None: no token, where none is needed); else raises :class:`RelayError`, Kabu's answer.

        - ``token`` (``POST /token``): the relay's password when it has one (``--password``), else the
          station's API password (any, for the demo station)
        - ``call`` (the REST API): a client's token, from ``POST /token``
        - ``order`` (``/sendorder``, ``/cancelorder``): a client's token, and ``--allow-orders``
        - ``status`` (``/relay/status``, which names clients' addresses and symbols): anyone on a relay
          without a password (it listens on loopback only); with one, loopback or a client's token
        - ``push`` (the PUSH socket): a token presented must be a client's; without one, every symbol,
          as at the station, unless the relay has a password
        """
        client = self.book.client(asker.token)
        if act == "token":
            if not self._password_ok(asker.password or ""):
                whose = "the relay's password (--password)"
                if self._password is None:
                    whose = "the station's API password"
                raise RelayError(4001013, f"that is not {whose}")
        elif act in ("call", "order"):
            if client is None:
                raise RelayError(4001009, "unknown token, ask POST /token first")
            if act == "order" and not self.allow_orders:
                raise RelayError(4001008, "this relay places no orders "
                                 "(start it with --allow-orders to let its clients trade)")  # fmt: skip
        elif act == "status":
            if self._password is not None and client is None and not asker.loopback:
                raise RelayError(4001009, "the status needs a client's token")
        elif asker.token and client is None:  # push
            raise RelayError(4001009, "unknown token: ask POST /token first")
        elif client is None and self._password is not None:
            raise RelayError(4001009, "this relay needs a token: send X-API-KEY or ?token=")
        return client

    def _password_ok(self, given: str) -> bool:
        expected = self._password or self._upstream_password
        if expected is None:
            return True  # the demo: any password, like the test station
        return hmac.compare_digest(given.encode(), expected.reveal().encode())

    def _client_call(
        self, handler: Callable[[Request, Client], Awaitable[Response]], act: Act = "call"
    ) -> Callable[..., Any]:
        """Wrap a handler: the client by its token (:meth:`admit`), errors as Kabu's JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                client = self.admit(act, asker_of(request))
                assert client is not None  # a call needs a client's token
                client.last_call = self._clock()
                return await handler(request, client)
            except RelayError as exc:
                return exc.response()

        return endpoint

    async def token(self, request: Request) -> Response:
        try:
            body = await decode_body(request, TokenRequest)
            self.admit("token", asker_of(request, password=body.APIPassword))
            peer = peer_of(request)
            try:
                client = self.book.join(peer, self._clock())
            except TooManyClients as exc:
                raise RelayError(4001006, f"{exc}: try again when one has left") from None
        except RelayError as exc:
            return exc.response()
        self._say(f"client {client.id} joined from {peer} ({len(self.book.clients)} clients)")
        return json_answer({"ResultCode": 0, "Token": client.token})

    async def register(self, request: Request, client: Client) -> Response:
        keys = (await decode_body(request, SymbolList)).keys()
        await self.add_symbols(client, keys)
        return regist_list(client)

    async def unregister(self, request: Request, client: Client) -> Response:
        keys = (await decode_body(request, SymbolList)).keys()
        await self.remove_symbols(client, keys)
        return regist_list(client)

    async def unregister_all(self, request: Request, client: Client) -> Response:
        async with self._lock:
            await self._let_go(f"client {client.id} (unregister/all)", self.book.unregister_all(client))
        return regist_list(client)

    # -- registrations, whoever asks (the REST API above, NATS requests: .publisher) -------------------

    async def add_symbols(self, client: Client, keys: list[SymbolKey]) -> None:
        """``keys`` become ``client``'s, registered at the station if no client had them; raises
        :class:`RelayError` in Kabu's words (the cap, a symbol the station refuses)."""
        async with self._lock:
            try:
                new = self.book.plan_register(keys)
            except SymbolLimitError as exc:
                raise RelayError(4002006, exc.message) from None
            if new:
                try:
                    await self._upstream(client, lambda: self.feed.register(new))
                except RelayError:
                    self.feed.registry.unwatch(new)  # a failure is not a registration
                    raise
            self.book.register(client, keys)
            self._reroute()
        for socket in self._sockets:  # a socket already open gets the prices it now wants
            if socket.client is client:
                for key in keys:
                    if key in self.latest:
                        socket.queue.put(key, self.latest[key])
        if new:
            self._say(f"client {client.id} registered {_names(new)} ({self.book.count()} at the station)")

    async def remove_symbols(self, client: Client, keys: list[SymbolKey]) -> None:
        """``client`` lets ``keys`` go; those no client wants any more are unregistered upstream."""
        async with self._lock:
            await self._let_go(f"client {client.id}", self.book.unregister(client, keys))

    async def release(self, client: Client, why: str) -> None:
        """Forget ``client`` (its lease ran out): its symbols go unless others want them."""
        async with self._lock:
            symbols = client.regist_list()
            gone = self.book.leave(client)
            kept = len(symbols) - len(gone)
            others = f"; {kept} of its symbols still wanted by others" if kept else ""
            self._say(f"client {client.id} left ({why}){others}")
            await self._let_go(f"client {client.id}", gone)

    async def _let_go(self, who: str, gone: list[SymbolKey]) -> None:
        """Unregister at the station what no client wants any more (the lock held). The relay's own
        call, outside any client's share; one that fails is tried again (:meth:`keep_leases`), or
        the station would hold symbols no one sees, in the cap everyone shares."""
        self._reroute()
        for key in gone:
            self.latest.pop(key, None)
        self._unwanted.update(gone)
        await self._flush_unwanted(who)

    async def _flush_unwanted(self, who: str) -> None:
        keys = [key for key in self._unwanted if not self.book.wanted(key)]  # none wanted again since
        self._unwanted = set(keys)
        if not keys:
            return
        try:
            await self._upstream(None, lambda: self.feed.unregister(keys))
        except RelayError as exc:
            if exc.message != self._unwanted_error:
                self._say(f"unregistering {_names(keys)} at the station failed: {exc}; trying again")
            self._unwanted_error = exc.message
            return
        self._unwanted.clear()
        self._unwanted_error = ""
        self._say(f"{who}: unregistered {_names(keys)} at the station ({self.book.count()})")

    async def board(self, request: Request, client: Client) -> Response:
        key = path_symbol(request)
        frame = self.latest.get(key)
        if frame is not None:
            return Response(frame, media_type=JSON_TYPE)
        return Response(
            await self._registering_get(client, key, f"/board/{key}", "board"), media_type=JSON_TYPE
        )

    async def _get(self, client: Client | None, path: str) -> bytes:
        return (await self._upstream(client, lambda: self.feed.rest.call("GET", path))).content

    async def _registering_get(self, client: Client, key: SymbolKey, path: str, what: str) -> bytes:
        """GET ``path`` of the station, which registers ``key`` as it answers (Kabu does so for
        /board and /symbol: kabusapi #135, #525). That counts against the shared cap, so the symbol
        becomes this client's, as a PUT /register would make it."""
        async with self._lock:
            try:
                new = self.book.plan_register([key])
            except SymbolLimitError as exc:
                raise RelayError(4002006, exc.message) from None
            answer = await self._upstream(client, lambda: self.feed.rest.call("GET", path))
            self.feed.registry.station_added(key)
            if new:
                self.feed.registry.watch(new)
            self.book.register(client, [key])
            self._reroute()
        if new:
            self._say(f"client {client.id} registered {key} by asking its {what} ({self.book.count()})")
        return answer.content

    async def forward(self, request: Request, client: Client) -> Response:
        path = request.url.path.removeprefix("/kabusapi")
        query = f"?{request.url.query}" if request.url.query else ""
        answer = await self._upstream(client, lambda: self.feed.rest.call("GET", path + query))
        return Response(answer.content, status_code=answer.status_code, media_type=JSON_TYPE)

    async def order(self, request: Request, client: Client) -> Response:
        body = await read_body(request)
        path = request.url.path.removeprefix("/kabusapi")
        method = request.method
        answer = await self._upstream(client, lambda: self.feed.rest.call(method, path, content=body))
        self._say(f"client {client.id} sent {request.method} {path}")
        return Response(answer.content, status_code=answer.status_code, media_type=JSON_TYPE)

    async def status(self, request: Request) -> Response:
        """The relay's state: never a password or a token; who may see it: :meth:`admit`."""
        try:
            self.admit("status", asker_of(request))
        except RelayError as exc:
            return exc.response()
        return json_answer(status_body(self.feed, self.book, self._sockets, self._clock()))

    # -- the PUSH sockets ----------------------------------------------------------------------------

    async def push(self, websocket: WebSocket) -> None:
        refusal = ""
        try:
            client = self.admit("push", asker_of(websocket))
        except RelayError as exc:
            client, refusal = None, exc.message
        await websocket.accept()
        if refusal:  # accepted first, so that the client reads why
            await websocket.close(1008, refusal)
            return
        socket = PushSocket(websocket, client)
        self._sockets.add(socket)
        if client is not None:
            client.sockets += 1
            client.last_call = self._clock()
        self._reroute()
        for key in client.symbols if client is not None else list(self.latest):
            if key in self.latest:  # what a client joining after the close still wants to see
                socket.queue.put(key, self.latest[key])
        tasks = [
            asyncio.create_task(send_frames(socket)),
            asyncio.create_task(drain(websocket)),
            asyncio.create_task(socket.stopped.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if socket.stopped.is_set():
                for task in tasks:
                    task.cancel()
                # The protocol aborts a connection whose client reads nothing, close frame included.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(websocket.close(1008, socket.close_reason), 5.0)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._sockets.discard(socket)
            self._reroute()
            if client is not None:
                client.sockets -= 1
                client.dropped += socket.queue.dropped
                client.last_call = self._clock()

    async def watch_sockets(self) -> None:
        """Close the sockets that stayed behind too long, saying why (runs with the relay)."""
        while True:
            await asyncio.sleep(1.0)
            now = self._clock()
            for socket in list(self._sockets):
                behind = socket.queue.behind(now)
                if behind >= self.behind_limit:
                    who = socket.client.id if socket.client is not None else "a socket without a token"
                    self._say(f"closing {who}'s socket: {behind:.0f} s behind the feed")
                    socket.stop(f"too slow: {behind:.0f} s behind the feed")
                    self._sockets.discard(socket)  # no more frames queued for it
                    self._reroute()

    async def keep_leases(self, every: float = 1.0) -> None:
        """Release the clients whose lease ran out (runs with the relay)."""
        while True:
            await asyncio.sleep(every)
            for client in self.book.expired(self._clock()):
                await self.release(client, f"no socket, no call for {self.book.lease:g} s")
            if self._unwanted:
                async with self._lock:
                    await self._flush_unwanted("clean-up")


def _names(keys: Any) -> str:
    return ", ".join(str(key) for key in keys)
