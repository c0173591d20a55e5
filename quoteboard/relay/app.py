"""``quoteboard relay``: one PUSH socket and one token at the station, a Kabu-compatible API for many.

To its station the relay is one Kabu client, the same :class:`~quoteboard.feeds.kabu.KabuFeed` the board uses
(reconnects, a new token on 401, registering again after a restart or the early-morning logout). To
its clients it is a station: ``POST /token`` gives each its own token, registrations are counted per
client (:mod:`.book`) and the station holds their union, and ``/kabusapi/websocket`` serves many
sockets, each with only its client's symbols (every symbol for a socket without a token, as at the
station). The upstream read never waits for a client (:mod:`.fanout`).

REST: ``/board`` is answered from the latest frame when there is one; ``/symbol`` is forwarded and
kept for the day; ``/positions``, ``/orders`` and ``/wallet/...`` are forwarded; orders are refused
unless ``allow_orders``. Everything sent to the station is paced under its ~10 requests a second, and a
client over its fair share of that gets 429, as the station would answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.frames import Frame, Opcode

from quoteboard.feeds.contract import Channel, FeedStatus, Taken, jst_iso
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.hosting import FRAMED, PUSH_PATH
from quoteboard.kabu.codes import ErrorAnswer, error_answer
from quoteboard.kabu.errors import KabuClientError, KabuError, SymbolLimitError
from quoteboard.kabu.protocol import Quote, SymbolKey, SymbolList
from quoteboard.relay.book import Book, Client, TooManyClients
from quoteboard.relay.fanout import BEHIND_LIMIT, LatestQueue
from quoteboard.secret import Secret

__all__ = ["MAX_BODY", "UPSTREAM_RATE", "Act", "Asker", "RelayApp", "RelayError"]

#: Requests a second the relay sends the station, all clients together (Kabu allows about 10).
UPSTREAM_RATE: Final = 8.0
#: The largest request body a client may send.
MAX_BODY: Final = 64 * 1024
_JSON: Final = "application/json"
#: Read-only account endpoints, forwarded as they are.
_ACCOUNT: Final = ("positions", "orders", "wallet/{rest:path}")
_ORDERS: Final = ("sendorder", "sendorder/future", "sendorder/option", "cancelorder")

Say = Callable[[str], object]
_T = TypeVar("_T")


class RelayError(Exception):
    """An answer in Kabu's words (:mod:`quoteboard.kabu.codes`): HTTP status, ``{"Code", "Message"}``."""

    def __init__(self, code: int, detail: str = "", *, answer: ErrorAnswer | None = None) -> None:
        self.answer = answer or error_answer(code, detail)
        super().__init__(self.answer.message)

    @classmethod
    def relayed(cls, status: int, code: int, message: str) -> RelayError:
        """The station's own answer, passed on as it is (its code need not be one the relay uses)."""
        return cls(code, answer=ErrorAnswer(status, code, message))

    @property
    def status(self) -> int:
        return self.answer.status

    @property
    def code(self) -> int:
        return self.answer.code

    @property
    def message(self) -> str:
        return self.answer.message

    def response(self) -> Response:
        return Response(self.answer.json(), status_code=self.status, media_type=_JSON)


def _answer(body: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type=_JSON)


class _Token(msgspec.Struct):
    APIPassword: str


#: What a client may ask to do (:meth:`RelayApp.admit` says who may).
Act = Literal["token", "call", "order", "status", "push"]


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks: the token it presents, the password it gives (``POST /token``), whether it is on
    this machine."""

    token: str | None = None
    password: str | None = None
    loopback: bool = False


class _Pacer:
    """Spaces the calls sent to the station, and keeps each client within its fair share of them."""

    def __init__(self, rate: float = UPSTREAM_RATE, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = asyncio.Lock()
        self._next = 0.0
        self._recent: dict[str, list[float]] = {}  # client id -> its calls in the last second

    def admit(self, client: Client) -> None:
        """Count a call of ``client``'s, or raise 429 if it is over its share of the last second."""
        now = self._clock()
        for cid in list(self._recent):
            calls = self._recent[cid] = [t for t in self._recent[cid] if now - t < 1.0]
            if not calls and cid != client.id:
                del self._recent[cid]
        mine = self._recent.setdefault(client.id, [])
        share = max(1, int(self.rate // max(1, len(self._recent))))
        if len(mine) >= share:
            raise RelayError(4001006, f"over this client's share of the station's {self.rate:g} requests "
                             f"a second ({share} now); try again shortly")  # fmt: skip
        mine.append(now)

    async def wait_turn(self) -> None:
        async with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = max(self._clock(), self._next) + 1.0 / self.rate


class _Socket:
    """One downstream PUSH socket: its client (None: every symbol) and its queue."""

    def __init__(self, websocket: WebSocket, client: Client | None) -> None:
        self.websocket = websocket
        self.client = client
        self.queue = LatestQueue()
        #: Writes a frame serialized ahead, at once, while the client keeps up: our own server's
        #: extension (None under another ASGI server: then every frame goes through the queue).
        framed = websocket.scope.get("extensions", {}).get(FRAMED, {})
        self.write: Callable[[bytes], bool] | None = framed.get("write")
        self.stopped = asyncio.Event()
        self.close_reason = ""

    def stop(self, reason: str) -> None:
        self.close_reason = reason
        self.stopped.set()


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
    ) -> None:
        self.feed = feed
        self.behind_limit = behind_limit
        self.book = book
        self._password = password
        self._upstream_password = upstream_password
        self.allow_orders = allow_orders
        self._say = say
        self._clock = clock
        self._pacer = _Pacer(clock=clock)
        self._lock = asyncio.Lock()  # registrations change the union one at a time
        #: The latest frame of each symbol, the bytes the station pushed (Kabu's are text frames).
        self.latest: dict[SymbolKey, bytes] = {}
        self._frame = b""
        #: Every decoded quote with its frame, after the sockets (the NATS publisher subscribes).
        self.quotes: Channel[[Quote, bytes]] = Channel()
        self._taken = False  # the station's socket was taken: said with the next reconnecting line
        self._sockets: set[_Socket] = set()
        #: Which sockets get a symbol's frames; every-symbol sockets apart. Rebuilt on changes.
        self._routes: dict[SymbolKey, list[_Socket]] = {}
        self._firehose: list[_Socket] = []
        self._symbol_cache: dict[tuple[str, str], tuple[datetime.date, bytes]] = {}
        #: Symbols no client wants that the station may still hold (an unregister failed).
        self._unwanted: set[SymbolKey] = set()
        self._unwanted_error = ""
        feed.events.frame.subscribe(self._on_frame)
        feed.events.quote.subscribe(self._on_quote)
        feed.events.status.subscribe(self._on_status)
        feed.events.taken.subscribe(self._on_taken)
        routes: list[Route | WebSocketRoute] = [
            Route("/relay/status", self.status, methods=["GET"]),
            Route("/kabusapi/token", self.token, methods=["POST"]),
            Route("/kabusapi/register", self._client_call(self.register), methods=["PUT"]),
            Route("/kabusapi/unregister", self._client_call(self.unregister), methods=["PUT"]),
            Route("/kabusapi/unregister/all", self._client_call(self.unregister_all), methods=["PUT"]),
            Route("/kabusapi/board/{symbol}", self._client_call(self.board), methods=["GET"]),
            Route("/kabusapi/symbol/{symbol}", self._client_call(self.symbol), methods=["GET"]),
            WebSocketRoute(PUSH_PATH, self.push),
        ]
        for path in _ACCOUNT:
            routes.append(Route(f"/kabusapi/{path}", self._client_call(self.forward), methods=["GET"]))
        for path in _ORDERS:
            order = self._client_call(self.order, "order")
            routes.append(Route(f"/kabusapi/{path}", order, methods=["PUT", "POST"]))
        self.asgi = Starlette(
            routes=routes,
            exception_handlers={404: self._not_found, 405: self._not_allowed},
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
            self._say(line)

    def _reroute(self) -> None:
        routes: dict[SymbolKey, list[_Socket]] = {}
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
                client = self.admit(act, _asker(request))
                assert client is not None  # a call needs a client's token
                client.last_call = self._clock()
                return await handler(request, client)
            except RelayError as exc:
                return exc.response()

        return endpoint

    async def token(self, request: Request) -> Response:
        try:
            body = await _decode(request, _Token)
            self.admit("token", _asker(request, password=body.APIPassword))
            peer = _peer(request)
            try:
                client = self.book.join(peer, self._clock())
            except TooManyClients as exc:
                raise RelayError(4001006, f"{exc}: try again when one has left") from None
        except RelayError as exc:
            return exc.response()
        self._say(f"client {client.id} joined from {peer} ({len(self.book.clients)} clients)")
        return _answer({"ResultCode": 0, "Token": client.token})

    async def register(self, request: Request, client: Client) -> Response:
        keys = (await _decode(request, SymbolList)).keys()
        await self.add_symbols(client, keys)
        return _regist_list(client)

    async def unregister(self, request: Request, client: Client) -> Response:
        keys = (await _decode(request, SymbolList)).keys()
        await self.remove_symbols(client, keys)
        return _regist_list(client)

    async def unregister_all(self, request: Request, client: Client) -> Response:
        async with self._lock:
            await self._let_go(f"client {client.id} (unregister/all)", self.book.unregister_all(client))
        return _regist_list(client)

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
        key = _symbol(request)
        frame = self.latest.get(key)
        if frame is not None:
            return Response(frame, media_type=_JSON)
        return Response(await self._registering_get(client, key, f"/board/{key}", "board"), media_type=_JSON)

    async def symbol(self, request: Request, client: Client) -> Response:
        key = _symbol(request)
        addinfo = request.query_params.get("addinfo", "true")
        today = datetime.date.today()
        cached = self._symbol_cache.get((str(key), addinfo))
        if cached is not None and cached[0] == today:
            return Response(cached[1], media_type=_JSON)
        body = await self._registering_get(client, key, f"/symbol/{key}?addinfo={addinfo}", "symbol")
        self._symbol_cache[(str(key), addinfo)] = (today, body)
        return Response(body, media_type=_JSON)

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
        return Response(answer.content, status_code=answer.status_code, media_type=_JSON)

    async def order(self, request: Request, client: Client) -> Response:
        body = await _read(request)
        path = request.url.path.removeprefix("/kabusapi")
        method = request.method
        answer = await self._upstream(client, lambda: self.feed.rest.call(method, path, content=body))
        self._say(f"client {client.id} sent {request.method} {path}")
        return Response(answer.content, status_code=answer.status_code, media_type=_JSON)

    async def status(self, request: Request) -> Response:
        """The relay's state: never a password or a token; who may see it: :meth:`admit`."""
        try:
            self.admit("status", _asker(request))
        except RelayError as exc:
            return exc.response()
        status = self.feed.status
        now = self._clock()
        return _answer(
            {
                "station": {
                    "state": status.state,
                    "since": jst_iso(status.since),
                    "detail": " ".join(status.detail.split()),
                    "connections": self.feed.connections,
                },
                "clients": [
                    {
                        "id": client.id,
                        "peer": client.peer,
                        "symbols": [str(key) for key in client.symbols],
                        "sockets": client.sockets,
                        "dropped": client.dropped
                        + sum(s.queue.dropped for s in self._sockets if s.client is client),
                        "idle_s": round(now - client.last_call, 1),
                    }
                    for client in self.book.clients
                ],
                "symbols": [str(key) for key in self.book.union],
                "limit": self.book.limit,
                "firehose_sockets": sum(1 for s in self._sockets if s.client is None),
            }
        )

    @staticmethod
    async def _not_found(request: Request, exc: Exception) -> Response:
        path = request.url.path
        return RelayError(4001012, f"no such endpoint at this relay: {path}").response()

    @staticmethod
    async def _not_allowed(request: Request, exc: Exception) -> Response:
        response = RelayError(4001014).response()
        if isinstance(exc, HTTPException) and exc.headers:
            response.headers.update(exc.headers)
        return response

    # -- the PUSH sockets ----------------------------------------------------------------------------

    async def push(self, websocket: WebSocket) -> None:
        refusal = ""
        try:
            client = self.admit("push", _asker(websocket))
        except RelayError as exc:
            client, refusal = None, exc.message
        await websocket.accept()
        if refusal:  # accepted first, so that the client reads why
            await websocket.close(1008, refusal)
            return
        socket = _Socket(websocket, client)
        self._sockets.add(socket)
        if client is not None:
            client.sockets += 1
            client.last_call = self._clock()
        self._reroute()
        for key in client.symbols if client is not None else list(self.latest):
            if key in self.latest:  # what a client joining after the close still wants to see
                socket.queue.put(key, self.latest[key])
        tasks = [
            asyncio.create_task(self._send(socket)),
            asyncio.create_task(_drain(websocket)),
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

    async def _send(self, socket: _Socket) -> None:
        queue, websocket = socket.queue, socket.websocket
        while True:
            frame = await queue.get()
            try:
                # A text frame, as the station sent it (ASGI takes text as str).
                await websocket.send_text(frame.decode("utf-8", "replace"))
            except (WebSocketDisconnect, RuntimeError):
                return

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


def _asker(connection: HTTPConnection, password: str | None = None) -> Asker:
    """Who asks on ``connection``: its token (the header; a socket may say ``?token=``), where from."""
    token = connection.headers.get("X-API-KEY")
    if not token and isinstance(connection, WebSocket):
        token = connection.query_params.get("token")
    return Asker(token=token, password=password, loopback=_from_loopback(connection))


def _from_loopback(connection: HTTPConnection) -> bool:
    try:
        return connection.client is not None and ipaddress.ip_address(connection.client.host).is_loopback
    except ValueError:
        return False


def _peer(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "?"


async def _read(request: Request) -> bytes:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise RelayError(4001015, f"at most {MAX_BODY // 1024} KB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise RelayError(4001015, f"at most {MAX_BODY // 1024} KB")
    return body


async def _decode(request: Request, kind: type[_T]) -> _T:
    body = await _read(request)
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise RelayError(4001011, str(exc)) from None
    except msgspec.DecodeError:
        raise RelayError(4001011, "the body is not JSON") from None


def _symbol(request: Request) -> SymbolKey:
    code, sep, exchange = request.path_params["symbol"].partition("@")
    if not code or not sep or not exchange.isdigit():
        raise RelayError(4001005, "the symbol is CODE@EXCHANGE, e.g. 7203@1")
    return SymbolKey(code, int(exchange))


def _regist_list(client: Client) -> Response:
    return _answer({"RegistList": [{"Symbol": k.code, "Exchange": k.exchange} for k in client.symbols]})


def _names(keys: Any) -> str:
    return ", ".join(str(key) for key in keys)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes: that is how a close is seen."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
