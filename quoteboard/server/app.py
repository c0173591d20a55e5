"""The test server's ASGI app: a WebSocket echo socket and a Kabu-compatible station on one port.

Routes:

- ``ws://HOST:PORT/``: echoes every text or binary message back unchanged.
- ``POST /kabusapi/token``, ``PUT /kabusapi/register``, ``PUT /kabusapi/unregister``,
  ``PUT /kabusapi/unregister/all``, ``GET /kabusapi/board/{CODE@EX}``, ``GET /kabusapi/symbol/{CODE@EX}``,
  ``GET /kabusapi/positions`` (a portfolio, see :mod:`.portfolio`), ``GET /kabusapi/primaryexchange/{CODE}``
  and ``GET /kabusapi/regulations/{CODE@EX}`` (see :mod:`.reference`), ``GET /kabusapi/ranking`` (the
  market's movers, see :mod:`.ranking`): the REST calls quoteboard
  makes, answering in the official schemas with the official error codes
  (``/unregister/all`` in the shape a real station sends, a list, where the spec says an object).
- ``GET /kabusapi/wallet/{cash,margin,future,option}[/{CODE@EX}]``: the read-only buying power that
  third-party clients ask for, from the portfolio and the market (see :mod:`.wallet`).
- ``ws://HOST:PORT/kabusapi/websocket``: the PUSH socket (:mod:`.push`). No token, no pongs (see
  :mod:`quoteboard.hosting`), one socket at a time, full ``BoardSuccess`` frames for the
  registered symbols about every 400 ms each.

- ``GET /serve/day``, ``POST /serve/fault``: the test server's own controls, not the station's (the
  day's phase and closing prices, injected faults; loopback only, see :mod:`.faults`).

With a :class:`~.clock.StationClock` as ``day`` the market plays a trading day on it (``serve --day``).
The rules themselves live in :mod:`.station` (bookkeeping) and :mod:`.market` (prices). With a
:class:`~.replay.Replay` the frames come from a recording instead of the market (see :mod:`.replay`).

Under load: both sockets send through a bounded :class:`~.outbox.Outbox` per client, drained by its own
task, so a client that reads slowly or not at all only loses its own oldest frames (counted in
:attr:`PushHub.dropped` and :attr:`KabuStation.echo_dropped`) and never holds up the PUSH schedule or
the other clients. Incoming messages are capped by the server (see :mod:`.runner`).
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from quoteboard.hosting import PUSH_PATH

from .clock import StationClock
from .faults import Controls
from .market import Market, encode
from .outbox import QUEUE_FRAMES, Outbox, send_from
from .portfolio import SIDE_CODES, Holding, price_positions
from .push import KABU_INTERVAL, PushHub
from .ranking import Rankings
from .reference import EXCHANGES, encode_regulations, regulations
from .replay import Replay
from .station import Station, StationError
from .wallet import wallet_cash, wallet_future, wallet_margin, wallet_option

__all__ = ["KABU_INTERVAL", "KabuStation", "PushHub"]

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
        send_queue: int = QUEUE_FRAMES,
        portfolio: Sequence[Holding] = (),
        day: StationClock | None = None,
    ) -> None:
        if market is None:
            market = Market(seed) if day is None else Market(seed, clock=day, day=True)
        self.market = market
        self.replay = replay
        #: What ``GET /positions`` answers (nothing unless given: the demo gives DEMO_PORTFOLIO).
        self.portfolio: tuple[Holding, ...] = tuple(portfolio)
        self.rankings = Rankings(self.market)
        self.station = Station(self._known, password, max_symbols, rate_limit)
        self.push = PushHub(self.station, self.market, rate, random.Random(seed), replay, send_queue)
        self.send_queue = send_queue
        #: Echoes dropped because their client read them too slowly, all clients together.
        self.echo_dropped = 0
        self.controls = Controls(self.station, self.push, self.market, day)
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
                Route("/kabusapi/positions", self._guard(self.positions, "info"), methods=["GET"]),
                Route(
                    "/kabusapi/primaryexchange/{symbol}",
                    self._guard(self.primary_exchange, "info"),
                    methods=["GET"],
                ),
                Route(
                    "/kabusapi/regulations/{symbol}", self._guard(self.regulations, "info"), methods=["GET"]
                ),
                Route("/kabusapi/ranking", self._guard(self.ranking, "info"), methods=["GET"]),
                *(
                    Route(path, self._guard(functools.partial(self.wallet, kind), "wallet"), methods=["GET"])
                    for kind in ("cash", "margin", "future", "option")
                    for path in (f"/kabusapi/wallet/{kind}", f"/kabusapi/wallet/{kind}/{{symbol}}")
                ),
                WebSocketRoute(PUSH_PATH, self.push.serve),
                Route("/serve/day", self.controls.day_endpoint, methods=["GET"]),
                Route("/serve/fault", self.controls.fault_endpoint, methods=["POST"]),
            ],
            exception_handlers={405: self._method_not_allowed},
        )

    def _guard(self, handler: _Handler, kind: str | None) -> _Handler:
        """Wrap a REST handler: API key and rate limit first (unless ``kind`` is None), errors as JSON."""

        async def endpoint(request: Request) -> Response:
            try:
                self.station.check_login()
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
        """Echo each message; a client that doesn't read its echoes loses its oldest ones."""
        await websocket.accept()
        outbox = Outbox(self.send_queue)
        sender = asyncio.create_task(send_from(outbox, websocket))
        try:
            while True:  # reading on while the sender waits keeps uvicorn's input moving
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("text")
                if data is None:
                    data = message.get("bytes")
                if data is not None:
                    self.echo_dropped += outbox.put(data)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

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
        # What a real station answers: an empty *list* (its own API log, quoted in kabusapi #284), as
        # RegistSuccess does, and what third-party clients (py-kabusapi) require. The spec's
        # UnregisterAllSuccess types RegistList as an object (its example is []): the station wins.
        # quoteboard's parse_regist_list reads both.
        return _answer({"RegistList": self.station.regist_list()})

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
        self.market.advance(key)  # so a client that only polls still sees the market move
        return Response(encode(self.market.board(key)), media_type=_JSON)

    async def symbol(self, request: Request) -> Response:
        key = self._listed(request)
        if key not in self.market and self.replay is not None:  # only the recording knows it
            return Response(self.replay.symbol(key), media_type=_JSON)
        addinfo = request.query_params.get("addinfo", "true").lower() != "false"
        return Response(encode(self.market.symbol(key, addinfo)), media_type=_JSON)

    async def primary_exchange(self, request: Request) -> Response:
        """The exchange a code trades on by default (the path names a code, no exchange)."""
        code = request.path_params["symbol"]
        listed = [exchange for exchange in EXCHANGES if self._known(f"{code}@{exchange}")]
        if not listed:
            raise StationError(4002001)
        return _answer({"Symbol": code, "PrimaryExchange": listed[0]})

    async def regulations(self, request: Request) -> Response:
        """The symbol's regulations, short-selling restriction included (none for most)."""
        code, exchange = _symbol_key(request.path_params["symbol"])
        if not self._known(f"{code}@{exchange}"):
            raise StationError(4002001)
        info = regulations(code, self.market.now())
        return Response(encode_regulations(code, info), media_type=_JSON)

    async def positions(self, request: Request) -> Response:
        """The portfolio, filtered as Kabu filters it (``product``, ``symbol``, ``side``), valued at the
        market's last prices unless ``addinfo=false``."""
        query = request.query_params
        product = query.get("product", "0")
        side = query.get("side")
        if product not in ("0", "1", "2", "3", "4") or side not in (None, "1", "2"):
            raise StationError(4001005)
        symbol = query.get("symbol")
        # The test server holds stocks only: futures ("3") and options ("4") are always empty.
        holdings = [
            holding
            for holding in self.portfolio
            if product == "0" or product == ("2" if holding.on_margin else "1")
            if (symbol is None or holding.key.partition("@")[0] == symbol)
            if side is None or SIDE_CODES[holding.side] == side
        ]
        addinfo = query.get("addinfo", "true").lower() != "false"
        items = price_positions(holdings, self.market.last_price, today=self.market.now(), addinfo=addinfo)
        return _answer(items)

    async def ranking(self, request: Request) -> Response:
        """The market's movers (:mod:`.ranking`); ``Type`` and ``ExchangeDivision`` default as the
        spec says (1, ALL)."""
        query = request.query_params
        return _answer(self.rankings.answer(query.get("Type", "1"), query.get("ExchangeDivision", "ALL")))

    async def wallet(self, kind: str, request: Request) -> Response:
        """Buying power of ``kind`` (cash, margin, future, option), for a symbol if the path names one.
        The station lists stocks only: a future or option symbol is never found."""
        symbol = request.path_params.get("symbol")
        if symbol is not None:
            code, exchange = _symbol_key(symbol)
            if kind in ("future", "option") or f"{code}@{exchange}" not in self.market:
                raise StationError(4002001)
        holdings, last = self.portfolio, self.market.last_price
        if kind == "cash":
            return _answer(wallet_cash(holdings, last))
        if kind == "margin":
            return _answer(wallet_margin(holdings, last, symbol=symbol is not None))
        if kind == "future":
            return _answer(wallet_future(holdings, last))
        return _answer(wallet_option(holdings, last))
