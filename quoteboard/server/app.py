"""The test server's ASGI app: the tutorial's echo socket and a Kabu-compatible station on one port.

Routes:

- ``ws://HOST:PORT/``: echoes every text or binary message back unchanged.
- ``POST /kabusapi/token``, ``PUT /kabusapi/register``, ``PUT /kabusapi/unregister``,
  ``PUT /kabusapi/unregister/all``, ``GET /kabusapi/board/{CODE@EX}``, ``GET /kabusapi/symbol/{CODE@EX}``:
  the REST calls quoteboard makes, answering in the official schemas with the official error codes.
- ``ws://HOST:PORT/kabusapi/websocket``: the PUSH socket. No token, no pongs (see
  :mod:`quoteboard.server.wsprotocol`), one socket at a time, full ``BoardSuccess`` frames for the
  registered symbols about every 400 ms each.

The rules themselves live in :mod:`.station` (bookkeeping) and :mod:`.market` (prices). With a
:class:`~.replay.Replay` the frames come from a recording instead of the market (see :mod:`.replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .market import Market, encode
from .replay import Replay
from .station import Station, StationError
from .wsprotocol import PUSH_PATH

__all__ = ["KABU_INTERVAL", "KabuStation", "PushHub"]

#: Kabu thins PUSH to about one frame per symbol every 400 ms.
KABU_INTERVAL: Final = 0.4
_JSON: Final = "application/json; charset=utf-8"
_T = TypeVar("_T")


def _answer(body: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type=_JSON)


def _error(exc: StationError) -> Response:
    return _answer(exc.body(), exc.status)


class _TokenRequest(msgspec.Struct):
    APIPassword: str


class _Symbol(msgspec.Struct):
    Symbol: str
    Exchange: int


class _SymbolsRequest(msgspec.Struct):
    Symbols: list[_Symbol]


async def _body(request: Request, kind: type[_T]) -> _T:
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.DecodeError:  # ValidationError included: wrong shape or types
        raise StationError(4001011) from None


def _symbol_key(text: str) -> tuple[str, int]:
    """``7203@1`` -> ``("7203", 1)``; anything else is a parameter conversion error."""
    code, sep, exchange = text.partition("@")
    if not code or not sep or not exchange.isdigit():
        raise StationError(4001005)
    return code, int(exchange)


# --------------------------------------------------------------------------------------------------
# PUSH
# --------------------------------------------------------------------------------------------------


class _Session:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.stop_requested = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.done = asyncio.Event()

    def stop(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        self.stop_requested.set()


class PushHub:
    """The PUSH socket: one session at a time, frames for the registered symbols on a schedule.

    Each registered symbol gets a frame about every ``interval`` seconds (400 ms, or spread so the
    total is ``rate`` frames a second), with +/-20 % jitter and a random phase per symbol so frames
    are spread out rather than sent in bursts. Registrations live in the :class:`Station`, so they
    survive reconnects. With a ``replay`` the frames are the recording's instead.
    """

    def __init__(
        self,
        station: Station,
        market: Market,
        rate: float | None,
        rng: random.Random,
        replay: Replay | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._station = station
        self._market = market
        self.replay = replay
        self.rate = rate
        self._rng = rng
        self._current: _Session | None = None
        self._sessions: set[_Session] = set()
        self.frames_sent = 0

    def interval(self, symbols: int) -> float:
        """Seconds between two frames of one symbol when ``symbols`` are registered."""
        if self.rate is None:
            return KABU_INTERVAL
        return max(symbols, 1) / self.rate

    async def drop(self) -> None:
        """Close every PUSH socket from the server side and wait until they are gone."""
        sessions = list(self._sessions)
        for session in sessions:
            session.stop(1001, "station going away")
        for session in sessions:
            await session.done.wait()

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        session = _Session(websocket)
        previous, self._current = self._current, session
        self._sessions.add(session)
        if previous is not None:  # the station serves one socket: the newcomer wins
            previous.stop(1000, "superseded by a new connection")
        if self.replay is None:
            pump_work = self._pump(session)
        else:
            pump_work = self.replay.push(self._sender(websocket), self._station.registered.keys())
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(self._drain(websocket)),
            asyncio.create_task(pump_work),
            asyncio.create_task(self._wait(session.stop_requested)),
        ]
        receiver, pump, _ = tasks
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:  # the client is still there: we are the ones closing
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await websocket.close(session.close_code, session.close_reason)
            if pump in done:
                pump.result()  # a bug in the pump is raised for uvicorn to log, not swallowed
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._sessions.discard(session)
            if self._current is session:
                self._current = None
            session.done.set()

    @staticmethod
    async def _wait(event: asyncio.Event) -> None:
        await event.wait()

    @staticmethod
    async def _drain(websocket: WebSocket) -> None:
        # The station ignores anything a client sends; reading keeps uvicorn's buffers moving and
        # tells us when the client goes.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    def _sender(self, websocket: WebSocket) -> Callable[[str | bytes], Awaitable[bool]]:
        """Sends one replayed frame as it was recorded (text, or bytes if it was not UTF-8)."""

        async def send(frame: str | bytes) -> bool:
            try:
                if isinstance(frame, str):
                    await websocket.send_text(frame)
                else:
                    await websocket.send_bytes(frame)
            except WebSocketDisconnect:
                return False
            self.frames_sent += 1
            return True

        return send

    async def _pump(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        registered = self._station.registered
        rng = self._rng
        heap: list[tuple[float, int, str]] = []
        scheduled: set[str] = set()
        order = itertools.count()
        while True:
            now = loop.time()
            interval = self.interval(len(registered))
            for key in registered:
                if key not in scheduled:  # newly registered: start at a random phase
                    scheduled.add(key)
                    heapq.heappush(heap, (now + rng.uniform(0, interval), next(order), key))
            batch: list[str] = []
            while heap and heap[0][0] <= now:
                due, _, key = heapq.heappop(heap)
                if key not in registered:
                    scheduled.discard(key)
                    continue
                batch.append(key)
                following = due + interval * rng.uniform(0.8, 1.2)
                if following < now - interval:  # fell behind (a slow client): skip, don't burst
                    following = now + rng.uniform(0, interval)
                heapq.heappush(heap, (following, next(order), key))
            try:
                for key in batch:
                    await session.websocket.send_text(self._market.frame(key).decode())
                    self.frames_sent += 1
            except WebSocketDisconnect:
                return
            delay = heap[0][0] - loop.time() if heap else 0.1
            # Wake at least every 100 ms to pick up new registrations.
            await asyncio.sleep(min(max(delay, 0.0), 0.1))


# --------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------

_Handler = Callable[[Request], Awaitable[Response]]


class KabuStation:
    """The echo socket plus a Kabu-compatible station, as one starlette app (:attr:`asgi`)."""

    def __init__(
        self,
        password: str | None = None,
        rate: float | None = None,
        seed: int | None = None,
        max_symbols: int = 50,
        rate_limit: float | None = 10.0,
        market: Market | None = None,
        replay: Replay | None = None,
    ) -> None:
        self.market = market if market is not None else Market(seed)
        self.replay = replay
        self.station = Station(self._known, password, max_symbols, rate_limit)
        self.push = PushHub(self.station, self.market, rate, random.Random(seed), replay)
        self.asgi = Starlette(
            routes=[
                WebSocketRoute("/", self.echo),
                Route("/kabusapi/token", self._guard(self.token, None), methods=["POST"]),
                Route("/kabusapi/register", self._guard(self.register, "register"), methods=["PUT"]),
                Route("/kabusapi/unregister", self._guard(self.unregister, "register"), methods=["PUT"]),
                Route(
                    "/kabusapi/unregister/all",
                    self._guard(self.unregister_all, "register"),
                    methods=["PUT"],
                ),
                Route("/kabusapi/board/{symbol}", self._guard(self.board, "info"), methods=["GET"]),
                Route("/kabusapi/symbol/{symbol}", self._guard(self.symbol, "info"), methods=["GET"]),
                WebSocketRoute(PUSH_PATH, self.push.serve),
            ],
            exception_handlers={405: self._method_not_allowed},
        )

    def _guard(self, handler: _Handler, kind: str | None) -> _Handler:
        """Wrap a REST handler: API key and rate limit first (unless ``kind`` is None), errors as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                if kind is not None:
                    self.station.check_key(request.headers.get("X-API-KEY"))
                    self.station.check_rate(request.client.host if request.client else "", kind)
                return await handler(request)
            except StationError as exc:
                return _error(exc)

        return endpoint

    @staticmethod
    async def _method_not_allowed(request: Request, exc: Exception) -> Response:
        response = _error(StationError(4001014, 405))
        if isinstance(exc, HTTPException) and exc.headers:
            response.headers.update(exc.headers)  # keep the Allow header
        return response

    async def echo(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    await websocket.send_text(message["text"])
                elif message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"])

    async def token(self, request: Request) -> Response:
        body = await _body(request, _TokenRequest)
        return _answer({"ResultCode": 0, "Token": self.station.issue_token(body.APIPassword)})

    async def register(self, request: Request) -> Response:
        body = await _body(request, _SymbolsRequest)
        self.station.register((s.Symbol, s.Exchange) for s in body.Symbols)
        return _answer({"RegistList": self.station.regist_list()})

    async def unregister(self, request: Request) -> Response:
        body = await _body(request, _SymbolsRequest)
        self.station.unregister((s.Symbol, s.Exchange) for s in body.Symbols)
        return _answer({"RegistList": self.station.regist_list()})

    async def unregister_all(self, request: Request) -> Response:
        self.station.unregister_all()
        # The spec's UnregisterAllSuccess types RegistList as an *object* (while its example is []),
        # so the empty object is what validates against the official schema. Clients must accept
        # both; quoteboard's parse_regist_list does.
        return _answer({"RegistList": {}})

    def _known(self, key: str) -> bool:
        """Listed: in the market's catalogue, or in the recording being replayed."""
        return key in self.market or (self.replay is not None and key in self.replay)

    def _listed(self, request: Request) -> str:
        """The ``CODE@EX`` key of the path, registered as the real station does for board/symbol."""
        code, exchange = _symbol_key(request.path_params["symbol"])
        key = f"{code}@{exchange}"
        if not self._known(key):
            raise StationError(4002001)
        self.station.register([(code, exchange)])  # counts towards the cap, like a PUT /register
        return key

    async def board(self, request: Request) -> Response:
        key = self._listed(request)
        if self.replay is not None:
            return Response(self.replay.board(key, self.market.listing(key)), media_type=_JSON)
        self.market.step(key)  # so a client that only polls still sees the market move
        return Response(encode(self.market.board(key)), media_type=_JSON)

    async def symbol(self, request: Request) -> Response:
        key = self._listed(request)
        if key not in self.market:  # only the recording knows it
            return Response(self.replay.symbol(key), media_type=_JSON)  # type: ignore[union-attr]
        addinfo = request.query_params.get("addinfo", "true").lower() != "false"
        return Response(encode(self.market.symbol(key, addinfo)), media_type=_JSON)
