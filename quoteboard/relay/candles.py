"""The relay's history for its clients: ``GET /relay/candles/{code}@{ex}?interval=1m[&date=YYYY-MM-DD]``
and NATS ``kabu.ctl.candles``, both answered by :func:`answer_candles` from the relay's tick store.

The answer is :func:`~quoteboard.history.wire.history_body`'s JSON: ``{symbol, exchange, interval,
date, since, candles: [...]}``, each candle ``stream --candles``'s line. A bad code, interval or date
is refused in Kabu's words (4001005), as the station refuses a bad parameter; a relay that keeps no
history says so (4001008), and one whose store cannot be read says why (4001001).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response

from quoteboard.history.candles import INTERVALS, Interval
from quoteboard.history.store import StoreError
from quoteboard.history.wire import history_body
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.answers import RelayError, json_answer, path_symbol

if TYPE_CHECKING:
    from quoteboard.history.source import CandleSource
    from quoteboard.relay.book import Client

__all__ = ["CANDLES_PATH", "answer_candles", "candles_endpoint"]

CANDLES_PATH: Final = "/relay/candles/{symbol}"
_CODE: Final = re.compile(r"[0-9A-Za-z]{1,12}")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def checked(key: SymbolKey, interval: str | None, day: str | None) -> tuple[Interval, date | None]:
    """The interval and JST day asked for; :class:`RelayError` (4001005) for a bad code, interval or date."""
    if not _CODE.fullmatch(key.code):
        raise RelayError(4001005, f"{key.code!r} is not a symbol code (e.g. 7203)")
    if interval not in INTERVALS:
        shown = "none" if interval is None else repr(interval)
        raise RelayError(4001005, f"interval is one of {', '.join(INTERVALS)}, not {shown}")
    asked = None
    if day is not None:
        try:
            if not _DATE.fullmatch(day):
                raise ValueError
            asked = date.fromisoformat(day)
        except ValueError:
            raise RelayError(4001005, f"date is YYYY-MM-DD (a JST day), not {day!r}") from None
    return interval, asked


async def answer_candles(
    source: CandleSource | None, key: SymbolKey, interval: str | None, day: str | None
) -> dict[str, object]:
    """The candles of ``key`` at ``interval`` on the JST ``day`` (None: the latest day held), as
    the relay answers them; raises :class:`RelayError` in Kabu's words."""
    checked_interval, asked = checked(key, interval, day)
    if source is None:
        raise RelayError(4001008, "this relay keeps no history (it was started with --no-history)")
    try:
        history = await source.candles(key, checked_interval, asked)
    except StoreError as exc:  # damaged, say: the client is told, the relay goes on
        raise RelayError(4001001, f"the relay's history cannot be read: {exc}") from None
    return history_body(history, asked)


def candles_endpoint(
    source: Callable[[], CandleSource | None],
) -> Callable[[Request, Client], Awaitable[Response]]:
    """The handler of :data:`CANDLES_PATH` (wrapped by the relay's one auth check), reading the
    history ``source()`` gives at the time of the call."""

    async def candles(request: Request, client: Client) -> Response:
        key = path_symbol(request)
        params = request.query_params
        return json_answer(await answer_candles(source(), key, params.get("interval"), params.get("date")))

    return candles
