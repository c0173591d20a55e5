"""GET answers the relay keeps, so that a crowd of clients costs the station one call.

:class:`AnswerCache` keeps each answer for its own lifetime: a number of seconds, or until the JST
day changes (:data:`DAY`: what the station says once a day about a symbol, the idea of
:mod:`quoteboard.kabu.daily`). Clients asking the same thing at the same time share one call, made in
a task of its own so that a client hanging up does not cancel the others' answer. An error answer is
not kept: the next ask tries again.

:class:`CachedGets` are the relay's cached endpoints: ``/ranking`` per (``Type``,
``ExchangeDivision``) for :data:`RANKING_SECONDS`, ``/primaryexchange/{symbol}`` and
``/regulations/{symbol}`` until the next JST day (``/symbol`` too, in :mod:`.app`, which registers the
symbol as the station does). NATS clients get the ranking from the same cache (:mod:`.publisher`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ranking import MARKETS, RANKING_TYPES
from quoteboard.kabu.records import jst_day
from quoteboard.relay.answers import JSON_TYPE, path_symbol
from quoteboard.relay.book import Client

__all__ = ["DAILY_PATHS", "DAY", "RANKING_SECONDS", "AnswerCache", "CachedGets"]

#: A lifetime: until the JST day changes.
DAY: Final = -1.0
#: How long a ranking answer is kept: the station's rankings move by the minute.
RANKING_SECONDS: Final = 30.0
#: The relay's routes kept until the next JST day (besides ``/symbol``, which registers).
DAILY_PATHS: Final = ("/kabusapi/primaryexchange/{symbol}", "/kabusapi/regulations/{symbol}")
_DIVISIONS: Final = frozenset(division for division, _ in MARKETS)
#: Answers kept at most; the expired ones go first when there are more.
MAX_ANSWERS: Final = 4096


class AnswerCache:
    """Answers by key, each kept ``ttl`` seconds (or until the JST day changes: :data:`DAY`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        #: Epoch seconds now (a test may move it on by hand).
        self.clock = clock
        self._answers: dict[Hashable, tuple[float, float, bytes]] = {}  # key -> (stored, ttl, body)
        self._pending: dict[Hashable, asyncio.Task[bytes]] = {}
        #: Calls made for answers not held (the rest were answered from the cache).
        self.misses = 0

    def _fresh(self, stored: float, ttl: float, now: float) -> bool:
        if ttl == DAY:
            return jst_day(stored) == jst_day(now)
        return now - stored < ttl

    def peek(self, key: Hashable) -> bytes | None:
        """The answer held for ``key`` if it is still fresh, without asking."""
        held = self._answers.get(key)
        if held is None or not self._fresh(held[0], held[1], self.clock()):
            return None
        return held[2]

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[bytes]], ttl: float) -> bytes:
        """The fresh answer for ``key``, else ``fetch()``'s (shared with whoever asks meanwhile);
        ``fetch``'s error is raised to each of them and nothing is kept."""
        held = self.peek(key)
        if held is not None:
            return held
        task = self._pending.get(key)
        if task is None:
            self.misses += 1
            task = self._pending[key] = asyncio.ensure_future(self._fetch(key, fetch, ttl))
            # Should every asker hang up, the error is still retrieved (no "never retrieved" noise).
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(task)

    async def _fetch(self, key: Hashable, fetch: Callable[[], Awaitable[bytes]], ttl: float) -> bytes:
        try:
            body = await fetch()
        finally:
            del self._pending[key]
        self._keep(key, body, ttl)
        return body

    def _keep(self, key: Hashable, body: bytes, ttl: float) -> None:
        now = self.clock()
        if len(self._answers) >= MAX_ANSWERS:
            self._answers = {k: v for k, v in self._answers.items() if self._fresh(v[0], v[1], now)}
            while len(self._answers) >= MAX_ANSWERS:  # all fresh: the oldest go
                del self._answers[next(iter(self._answers))]
        self._answers.pop(key, None)  # (re-inserted last: the dict keeps the order of storing)
        self._answers[key] = (now, ttl, body)


#: GET ``path`` of the station in ``client``'s turn (None: the relay's own); the answer's body.
Upstream = Callable[[Client | None, str], Awaitable[bytes]]
#: The same for a path that registers ``key`` as it answers (``/symbol``), made ``client``'s.
Registering = Callable[[Client, SymbolKey, str, str], Awaitable[bytes]]


class CachedGets:
    """The relay's cached GET endpoints, asking the station through ``upstream``."""

    def __init__(
        self,
        upstream: Upstream,
        registering: Registering,
        *,
        clock: Callable[[], float] = time.time,
        ranking_seconds: float = RANKING_SECONDS,
    ) -> None:
        self.cache = AnswerCache(clock)
        self._upstream = upstream
        self._registering = registering
        self.ranking_seconds = ranking_seconds

    async def ranking_body(self, client: Client | None, type_: str, division: str) -> bytes:
        """The station's ``/ranking`` answer, shared for :attr:`ranking_seconds` by every client."""
        path = "/ranking?" + urlencode({"Type": type_, "ExchangeDivision": division})
        if not (type_.isdigit() and int(type_) in RANKING_TYPES and division in _DIVISIONS):
            return await self._upstream(client, path)  # the station's refusal, never kept
        # The relay's own call, not the asker's: a shared answer refused for one client's share of
        # the station's pace would be refused to everyone waiting on it. The cache bounds the cost
        # (one call per type and market every 30 s).
        fetch = functools.partial(self._upstream, None, path)
        return await self.cache.get(("ranking", type_, division), fetch, self.ranking_seconds)

    async def ranking(self, request: Request, client: Client) -> Response:
        query = request.query_params
        body = await self.ranking_body(client, query.get("Type", "1"), query.get("ExchangeDivision", "ALL"))
        return Response(body, media_type=JSON_TYPE)

    async def symbol(self, request: Request, client: Client) -> Response:
        """``/symbol/{symbol}``: kept until the next JST day. The station registers the symbol as it
        answers, so the call that asks makes it the client's; one answered from the cache does not."""
        key = path_symbol(request)
        addinfo = request.query_params.get("addinfo", "true")
        ask = functools.partial(self._registering, client, key, f"/symbol/{key}?addinfo={addinfo}", "symbol")
        return Response(await self.cache.get(("symbol", str(key), addinfo), ask, DAY), media_type=JSON_TYPE)

    async def daily(self, request: Request, client: Client) -> Response:
        """``/primaryexchange/{CODE}``, ``/regulations/{CODE@EX}``: kept until the next JST day."""
        path = request.url.path.removeprefix("/kabusapi")
        if path.startswith("/regulations/"):  # (/primaryexchange takes a bare code)
            path_symbol(request)  # a malformed symbol is refused here, as the station would
        body = await self.cache.get(("daily", path), functools.partial(self._upstream, client, path), DAY)
        return Response(body, media_type=JSON_TYPE)
