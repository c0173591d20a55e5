"""A relay's history for a board behind it: :class:`RelayCandles` (``GET /relay/candles``, through the
feed's own REST client: the same token, no proxy) and :class:`NatsCandles` (``kabu.ctl.candles``).

Both are :class:`~quoteboard.history.source.CandleSource` s answering what the relay's tick store
holds, so a board behind a relay or on NATS draws the candles the relay's own board would. Both raise
:class:`~quoteboard.kabu.errors.KabuClientError` (a :class:`~quoteboard.kabu.errors.KabuError` for
the relay's refusal, in Kabu's words, or an answer that is not candles).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote as url_quote

import msgspec

from quoteboard.feeds.contract import RelayAware
from quoteboard.history.candles import Interval
from quoteboard.history.source import CandleSource, History
from quoteboard.history.wire import decode_history
from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.wire import CTL_CANDLES, candles_body

if TYPE_CHECKING:
    from quoteboard.feeds.contract import Feed
    from quoteboard.feeds.source import FeedSource
    from quoteboard.kabu.rest import KabuRest

__all__ = ["NatsCandles", "RelayCandles", "served_history"]


async def served_history(feed: Feed, source: FeedSource) -> tuple[bool, CandleSource | None]:
    """Whether ``feed`` (from ``source``) comes through a quoteboard relay's Kabu API, and the
    relay's history when a relay serves it (over that API, or on NATS); else None."""
    if source.kind == "nats" and isinstance(feed, Asker):
        return False, NatsCandles(feed)
    if source.kind != "kabu" or not isinstance(feed, RelayAware):
        return False, None  # the demo and replays: their own station, in this process
    rest: KabuRest | None = getattr(feed, "rest", None)
    if await feed.relay_status() is None:
        return False, None
    return True, RelayCandles(rest) if rest is not None else None


class RelayCandles:
    """Candles from the relay ``rest`` talks to (its base URL ``http://host:port/kabusapi``)."""

    def __init__(self, rest: KabuRest) -> None:
        self.rest = rest

    def __repr__(self) -> str:
        return f"RelayCandles({self.rest.base_url})"

    async def candles(self, key: SymbolKey, interval: Interval, day: date | None = None) -> History:
        # /relay/candles is beside /kabusapi, not under it: an absolute URL keeps the client's token.
        origin = self.rest.base_url.removesuffix("/kabusapi")
        url = f"{origin}/relay/candles/{url_quote(str(key), safe='@')}?interval={interval}"
        if day is not None:
            url += f"&date={day.isoformat()}"
        answer = await self.rest.call("GET", url)
        return _history(answer.content, key, interval)


@runtime_checkable
class Asker(Protocol):
    async def ask(self, subject: str, body: dict[str, Any]) -> bytes: ...


class NatsCandles:
    """Candles from the relay behind a NATS feed (:class:`~quoteboard.feeds.nats.NatsFeed`)."""

    def __init__(self, feed: Asker) -> None:
        self.feed = feed

    async def candles(self, key: SymbolKey, interval: Interval, day: date | None = None) -> History:
        body = candles_body(key, interval, day.isoformat() if day is not None else None)
        data = await self.feed.ask(CTL_CANDLES, body)
        return _history(data, key, interval)


def _history(data: bytes, key: SymbolKey, interval: Interval) -> History:
    try:
        return decode_history(data, key, interval)
    except ValueError as exc:
        refusal = _refusal(data)
        if refusal is not None:
            raise refusal from None
        raise KabuError(None, f"the relay's candles answer is unreadable: {exc}") from None


def _refusal(data: bytes) -> KabuError | None:
    """Kabu's ``{"Code", "Message"}`` where candles would be (a NATS answer carries no status)."""
    try:
        answer = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    if isinstance(answer, dict) and "Code" in answer:
        return KabuError(answer.get("Code"), str(answer.get("Message", "")))
    return None
