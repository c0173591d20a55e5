"""The Kabu Station REST client: token, register, unregister, board, symbol, primary exchange,
regulations, positions, ranking.

A thin ``httpx.AsyncClient`` wrapper around :mod:`quoteboard.kabu.protocol`; what is registered is
the business of :class:`quoteboard.kabu.registry.Registry`, which the feed keeps. It owns the token,
one at a time: calls that need one at the same moment share one ``POST /token`` (a relay makes each
token a client of its own, so a board's positions and its socket must not get two). Kabu voids a
token when a newer one is issued and at the forced early-morning logout, so a 401 gets one new token
and one retry; :attr:`KabuRest.on_renewed` hears of it, for the feed's socket to follow. A 429 (or
Kabu's 4001006) gets a short, bounded back-off.

The API password is kept in one private attribute and is never put in a message, a repr or a log;
nor in a local variable of a frame that is still running while a request is sent, so a crash report
that shows locals (Textual's does) has none to show: the token request is built, then sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import httpx
import msgspec

from quoteboard.kabu.errors import RATE_LIMITED_CODE, KabuError, StationUnreachable, error_from_response
from quoteboard.kabu.net import trust_env
from quoteboard.kabu.positions import Position, parse_positions
from quoteboard.kabu.protocol import (
    DEFAULT_BASE_URL,
    Quote,
    Rejection,
    SymbolKey,
    decode_frame,
    parse_regist_list,
    parse_token,
    register_body,
    token_body,
)
from quoteboard.kabu.ranking import Ranking, parse_ranking
from quoteboard.kabu.reference import PrimaryExchange, Regulation, parse_primary_exchange, parse_regulations
from quoteboard.secret import Secret

__all__ = ["KabuRest"]

_JSON: Final = {"Content-Type": "application/json"}


class KabuRest:
    """REST calls to one station. Coroutines raise :class:`~quoteboard.kabu.errors.KabuError` for an
    error answer and :class:`~quoteboard.kabu.errors.StationUnreachable` when no answer came."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        password: Secret | str = "",
        *,
        timeout: float = 5.0,
        retries_429: int = 3,
        backoff_429: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._url_problem = _url_problem(self.base_url)
        self._password = Secret.of(password)
        self.retries_429 = retries_429
        self.backoff_429 = backoff_429
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        #: Tokens taken in place of an earlier one (after a 401, or asked for anew).
        self.renewals = 0
        self._issued = False
        #: Called with each token that replaces an earlier one: nothing is registered under it yet.
        self.on_renewed: Callable[[str], object] | None = None
        settings: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            "transport": transport,
            "headers": {"Accept": "application/json"},
        }
        try:
            self._client = httpx.AsyncClient(**settings, trust_env=trust_env(self.base_url))
        except ImportError:
            # A SOCKS proxy in the environment for a station beyond loopback, without httpx's SOCKS
            # support: said at the first call, as a bad URL is (no traceback, nothing sent).
            self._url_problem = self._url_problem or (
                'the environment\'s proxy for it is a SOCKS proxy: pip install "httpx[socks]", '
                "or name the host in NO_PROXY"
            )
            self._client = httpx.AsyncClient(**settings, trust_env=False)

    def __repr__(self) -> str:  # never the password or the token
        return f"KabuRest({self.base_url!r}, token={'set' if self._token else 'none'})"

    @property
    def has_token(self) -> bool:
        return self._token is not None

    @property
    def current_token(self) -> str | None:
        """The token in use, for the PUSH socket's X-API-KEY header (a relay tells clients apart by it)."""
        return self._token

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> KabuRest:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- calls ------------------------------------------------------------------------------------

    async def token(self) -> str:
        """POST /token: a new token in place of the one held (which it voids). Returns it. A call
        already asking for one when this one is made shares its answer instead."""
        return await self._new_token(self._token)

    async def ensure_token(self) -> str:
        """The token held, else a new one: calls made at the same time share one ``POST /token``."""
        token = self._token
        return token if token is not None else await self._new_token(None)

    async def register(self, keys: list[SymbolKey] | tuple[SymbolKey, ...]) -> list[SymbolKey]:
        """PUT /register. Returns every symbol now registered at the station."""
        answer = await self._call("PUT", "/register", content=register_body(list(keys)))
        return parse_regist_list(answer.content)

    async def unregister(self, keys: list[SymbolKey] | tuple[SymbolKey, ...]) -> list[SymbolKey]:
        """PUT /unregister. Returns every symbol still registered."""
        answer = await self._call("PUT", "/unregister", content=register_body(list(keys)))
        return parse_regist_list(answer.content)

    async def unregister_all(self) -> list[SymbolKey]:
        """PUT /unregister/all. Returns what is still registered (normally nothing)."""
        answer = await self._call("PUT", "/unregister/all")
        return parse_regist_list(answer.content)

    async def board(self, key: SymbolKey) -> Quote:
        """GET /board/CODE@EX: one snapshot. The station registers the symbol as a side effect."""
        answer = await self._call("GET", f"/board/{key}")
        decoded = decode_frame(answer.content)
        if isinstance(decoded, Rejection):
            raise KabuError(None, f"unreadable board answer: {decoded.reason}", answer.status_code)
        return decoded

    async def symbol(self, key: SymbolKey) -> dict[str, Any]:
        """GET /symbol/CODE@EX: the symbol's static information (name, unit, limits, ...)."""
        answer = await self._call("GET", f"/symbol/{key}")
        try:
            info = msgspec.json.decode(answer.content)
        except msgspec.DecodeError as exc:
            raise KabuError(None, f"unreadable symbol answer: {exc}", answer.status_code) from None
        if not isinstance(info, dict):
            raise KabuError(None, "unreadable symbol answer: not an object", answer.status_code)
        return info

    async def primary_exchange(self, code: str) -> PrimaryExchange:
        """GET /primaryexchange/CODE: the exchange ``code`` trades on by default. Registers nothing."""
        answer = await self._call("GET", f"/primaryexchange/{code}")
        try:
            return parse_primary_exchange(answer.content)
        except ValueError as exc:
            raise KabuError(None, str(exc), answer.status_code) from None

    async def regulations(self, key: SymbolKey) -> tuple[Regulation, ...]:
        """GET /regulations/CODE@EX: the symbol's regulations, short selling's included. Registers nothing."""
        answer = await self._call("GET", f"/regulations/{key}")
        try:
            return parse_regulations(answer.content)
        except ValueError as exc:
            raise KabuError(None, str(exc), answer.status_code) from None

    async def positions(self) -> list[Position]:
        """GET /positions?product=0: every position held (cash, margin, futures, options). Read only."""
        answer = await self._call("GET", "/positions?product=0")
        try:
            return parse_positions(answer.content)
        except ValueError as exc:
            raise KabuError(None, f"unreadable positions answer: {exc}", answer.status_code) from None

    async def ranking(self, type_number: int, division: str = "ALL") -> Ranking:
        """GET /ranking: the market's movers of one type (1-15) on one market (``ALL``, ``TP`` ...).
        Registers nothing. An empty list is the station's ranking cleared before the open."""
        query = httpx.QueryParams({"Type": str(type_number), "ExchangeDivision": division})
        answer = await self._call("GET", f"/ranking?{query}")
        try:
            return parse_ranking(answer.content, type_number, division)
        except ValueError as exc:
            raise KabuError(None, f"unreadable ranking answer: {exc}", answer.status_code) from None

    async def relay_status(self) -> dict[str, Any] | None:
        """``/relay/status`` when this base URL is a quoteboard relay's, else None: a station has no
        such page (nor anything else there that answers, which is also None)."""
        origin = self.base_url.removesuffix("/kabusapi")
        headers = {"X-API-KEY": self._token} if self._token else None  # a relay on a LAN asks for it
        try:
            answer = await self._client.get(f"{origin}/relay/status", headers=headers)
            status = msgspec.json.decode(answer.content) if answer.is_success else None
        except (httpx.HTTPError, httpx.InvalidURL, msgspec.DecodeError):
            return None
        return status if isinstance(status, dict) and "station" in status else None

    async def call(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        """Any authenticated call (``path`` may carry a query), answered as the station sent it: what
        a relay forwards. Raises like the others for an error answer or none."""
        return await self._call(method, path, content=content or None)

    # -- plumbing ---------------------------------------------------------------------------------

    async def _new_token(self, stale: str | None) -> str:
        """POST /token, unless a token other than ``stale`` is held by the time the lock is ours (a
        call that waited for it got one): then that one, so concurrent callers make one request."""
        async with self._token_lock:
            held = self._token
            if held is not None and held != stale:
                return held
            self._check_url()
            # The body built in the call: a local holding the password would show in a crash report.
            request = self._client.build_request(
                "POST", "/token", content=token_body(self._password.reveal()), headers=_JSON
            )
            answer = await self._send_request(request, "POST /token")
            token = self._token = parse_token(answer.content)
            if self._issued:
                self.renewals += 1
                if self.on_renewed is not None:
                    self.on_renewed(token)
            self._issued = True
            return token

    async def _renew_token(self, stale: str) -> None:
        if self._token == stale:  # refused: no call should use it while the new one is on the way
            self._token = None
        await self._new_token(stale)

    async def _call(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        """An authenticated call: one new token and one retry on 401."""
        token = await self.ensure_token()
        try:
            return await self._send(method, path, content=content, token=token)
        except KabuError as exc:
            if exc.http_status != 401:
                raise
        await self._renew_token(token)
        try:
            return await self._send(method, path, content=content, token=self._token)
        except KabuError as exc:
            if exc.http_status != 401:
                raise
            said = f"{exc.message}; " if exc.message else ""
            why = "is another program taking tokens with this password, or is kabuステーション logging out?"
            raise KabuError(exc.code, f"{said}a new token was refused too: {why}", 401) from None

    async def _send(
        self, method: str, path: str, *, content: bytes | None = None, token: str | None = None
    ) -> httpx.Response:
        """An authenticated request (see :meth:`_send_request`)."""
        self._check_url()
        headers = dict(_JSON) if content is not None else {}
        if token:
            headers["X-API-KEY"] = token
        request = self._client.build_request(method, path, content=content, headers=headers)
        return await self._send_request(request, f"{method} {path}")

    def _error(self, response: httpx.Response) -> KabuError:
        """The error an answer carries, with the password blanked out should the station quote the
        request back (an error page echoing the token request), raw or JSON-escaped."""
        body = response.content
        if self._password:
            secret = self._password.reveal()
            for form in (secret.encode(), msgspec.json.encode(secret)[1:-1]):
                body = body.replace(form, b"***")
        return error_from_response(response.status_code, body)

    def _check_url(self) -> None:
        # Checked before a request is built: httpx would raise from frames holding the body.
        if self._url_problem:
            raise StationUnreachable(self.base_url, self._url_problem)

    async def _send_request(self, request: httpx.Request, what: str) -> httpx.Response:
        """Send with the 429 back-off. Raises KabuError for any non-2xx answer, StationUnreachable
        when none came (every httpx failure: refused, timed out, a bad URL, a broken answer)."""
        delay = self.backoff_429
        for attempt in range(self.retries_429 + 1):
            if self._client.is_closed:  # httpx would raise a RuntimeError: the feed was stopped
                raise StationUnreachable(self.base_url, f"{what} not sent: this client was closed")
            try:
                response = await self._client.send(request)
            except httpx.TimeoutException:
                raise StationUnreachable(self.base_url, f"no answer to {what} in time") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, httpx.ConnectError):
                    reason = f"{reason} (is kabuステーション running with the API enabled?)"
                raise StationUnreachable(self.base_url, reason) from None
            if response.is_success:
                return response
            error = self._error(response)
            rate_limited = response.status_code == 429 or error.code == RATE_LIMITED_CODE
            if not rate_limited or attempt == self.retries_429:
                raise error
            await asyncio.sleep(_retry_after(response, delay))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _url_problem(base_url: str) -> str:
    """Why ``base_url`` cannot be a station's address, or "" if it can."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        return f"not a URL ({exc})"
    if url.scheme not in ("http", "https") or not url.host:
        return "not an http:// or https:// URL such as http://localhost:18080/kabusapi"
    return ""


def _retry_after(response: httpx.Response, default: float) -> float:
    """Honour a Retry-After header in seconds, bounded to 5 s; else the back-off delay."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, min(float(value), 5.0))
        except ValueError:
            pass
    return default
