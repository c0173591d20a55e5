"""A client's call as the relay reads it, and the relay's answer in Kabu's words.

Who asks (:class:`Asker`: the token presented, the password given, from where), the request's body
read within :data:`MAX_BODY` and decoded, and every refusal as a :class:`RelayError` that answers as
the station would (:mod:`quoteboard.kabu.codes`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from quoteboard.kabu.codes import ErrorAnswer, error_answer
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.book import Client

__all__ = [
    "JSON_TYPE",
    "MAX_BODY",
    "Act",
    "Asker",
    "RelayError",
    "TokenRequest",
    "asker_of",
    "decode_body",
    "from_loopback",
    "json_answer",
    "not_allowed",
    "not_found",
    "path_symbol",
    "peer_of",
    "read_body",
    "regist_list",
]

#: The largest request body a client may send.
MAX_BODY: Final = 64 * 1024
JSON_TYPE: Final = "application/json"

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
        return Response(self.answer.json(), status_code=self.status, media_type=JSON_TYPE)


def json_answer(body: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type=JSON_TYPE)


class TokenRequest(msgspec.Struct):
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


def asker_of(connection: HTTPConnection, password: str | None = None) -> Asker:
    """Who asks on ``connection``: its token (the header; a socket may say ``?token=``), where from."""
    token = connection.headers.get("X-API-KEY")
    if not token and isinstance(connection, WebSocket):
        token = connection.query_params.get("token")
    return Asker(token=token, password=password, loopback=from_loopback(connection))


def from_loopback(connection: HTTPConnection) -> bool:
    try:
        return connection.client is not None and ipaddress.ip_address(connection.client.host).is_loopback
    except ValueError:
        return False


def peer_of(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "?"


async def read_body(request: Request) -> bytes:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise RelayError(4001015, f"at most {MAX_BODY // 1024} KB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise RelayError(4001015, f"at most {MAX_BODY // 1024} KB")
    return body


async def decode_body(request: Request, kind: type[_T]) -> _T:
    body = await read_body(request)
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise RelayError(4001011, str(exc)) from None
    except msgspec.DecodeError:
        raise RelayError(4001011, "the body is not JSON") from None


def path_symbol(request: Request) -> SymbolKey:
    code, sep, exchange = request.path_params["symbol"].partition("@")
    if not code or not sep or not exchange.isdigit():
        raise RelayError(4001005, "the symbol is CODE@EXCHANGE, e.g. 7203@1")
    return SymbolKey(code, int(exchange))


def regist_list(client: Client) -> Response:
    return json_answer({"RegistList": [{"Symbol": k.code, "Exchange": k.exchange} for k in client.symbols]})


async def not_found(request: Request, exc: Exception) -> Response:
    """A path the relay does not serve, answered as the station would."""
    path = request.url.path
    return RelayError(4001012, f"no such endpoint at this relay: {path}").response()


async def not_allowed(request: Request, exc: Exception) -> Response:
    """A method the path does not take, answered as the station would (its Allow header kept)."""
    response = RelayError(4001014).response()
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response
