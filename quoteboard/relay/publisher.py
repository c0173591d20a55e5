"""``quoteboard relay --nats URL``: the relay's quotes published on NATS, its registrations by request.

Fan-out is NATS's work: each decoded quote is published once, however many subscribe.

The subjects and records are :mod:`quoteboard.nats.wire`'s:

- ``kabu.quote.<exchange>.<code>``: the quote as JSON, the keys of ``stream``'s NDJSON.
- ``kabu.frame.<exchange>.<code>``: the station's frame as it came (a recording through NATS is exact).
- ``kabu.candle.<interval>.<exchange>.<code>``: each closed candle of every interval (1m, 5m, 15m, 1h,
  1d), ``stream --candles``'s line, closed as ``stream --candles`` closes them
  (:class:`~quoteboard.history.closing.CandleCloser`: the next bucket's tick or the station's clock).
- KV ``kabu_quotes``, key ``<exchange>.<code>`` (history 1): the latest quote, with its frame under
  ``"frame"``, for a subscriber's snapshot. Written at most every :data:`KV_EVERY` seconds per symbol
  (the latest wins) and without waiting for JetStream's acknowledgement, so a 1000 msg/s feed costs
  at most 50 stores per flush rather than 1000 acknowledged puts a second.
- KV ``kabu_relay``, key ``status``: upstream state, symbols n/50, clients, refreshed every second.
- Requests on ``kabu.ctl.register`` / ``kabu.ctl.unregister`` (``{"client": ID, "Symbols": [...]}``)
  answer the client's ``RegistList`` or Kabu's refusal ``{"Code", "Message"}``; ``kabu.ctl.lease``
  (``{"client": ID}``) renews the client's lease, and a client silent for the lease is released;
  ``kabu.ctl.positions`` (``{"client": ID}``) answers what ``GET /positions`` answers an HTTP client
  (read only: nothing else of the account is forwarded on NATS). ``kabu.ctl.candles``
  (``{"Symbol", "Exchange", "interval", "date"?}``, no client needed) answers what
  ``GET /relay/candles`` answers (:mod:`.candles`); ``kabu.ctl.ranking``
  (``{"client": ID, "Type", "ExchangeDivision"}``) what ``GET /ranking`` answers, from the relay's
  30 s cache (:mod:`.cache`), which HTTP and NATS clients share.
  NATS clients are clients of the relay's one :class:`~quoteboard.relay.book.Book`: the same
  reference counts and cap as its Kabu-API clients.

The hot path (:meth:`NatsPublisher._on_quote`) only appends to a queue; one task publishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import msgspec

from quoteboard.feeds.contract import jst_iso
from quoteboard.history.candles import INTERVALS
from quoteboard.history.closing import CandleCloser, Closed
from quoteboard.history.wire import encode_candle
from quoteboard.kabu.codes import error_answer
from quoteboard.kabu.protocol import Quote, SymbolEntry, SymbolKey
from quoteboard.nats.link import NatsTarget, connect
from quoteboard.nats.wire import (
    CTL_CANDLES,
    CTL_LEASE,
    CTL_POSITIONS,
    CTL_RANKING,
    CTL_REGISTER,
    CTL_UNREGISTER,
    QUOTES_BUCKET,
    RELAY_BUCKET,
    RELAY_STATUS_KEY,
    candle_subject,
    encode_quote,
    frame_subject,
    kv_key,
    quote_subject,
    regist_list_body,
    snapshot_value,
)
from quoteboard.relay.answers import RelayError
from quoteboard.relay.app import RelayApp
from quoteboard.relay.book import Client, TooManyClients
from quoteboard.relay.candles import answer_candles

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg

__all__ = ["DEFAULT_NATS_LEASE", "KV_EVERY", "NatsPublisher"]

#: Seconds a NATS client may stay silent (no request, no lease renewal) before it is released.
DEFAULT_NATS_LEASE: Final = 30.0
#: Seconds between the stores of the latest quotes in KV.
KV_EVERY: Final = 0.2
#: Seconds between looks at the station's clock for candles whose time is over.
CANDLES_EVERY: Final = 0.5
#: Messages held while the NATS server is away; older ones give way (the KV keeps the latest).
BACKLOG: Final = 20_000
_MAX_ID: Final = 64
#: What ``KabuRest.positions`` asks a station or a relay: every product.
_POSITIONS: Final = "/positions?product=0"
_encoder: Final = msgspec.json.Encoder()


class _Request(msgspec.Struct):
    client: str
    Symbols: list[SymbolEntry] = []
    Type: str = "1"
    ExchangeDivision: str = "ALL"


class _CandlesRequest(msgspec.Struct):
    Symbol: str
    Exchange: int
    interval: str | None = None
    date: str | None = None


class NatsPublisher:
    """Publishes ``relay``'s quotes to the NATS server at ``target`` and answers its control requests."""

    def __init__(
        self,
        relay: RelayApp,
        target: NatsTarget,
        *,
        lease: float = DEFAULT_NATS_LEASE,
        lease_check: float = 1.0,
        kv_every: float = KV_EVERY,
        status_every: float = 1.0,
        say: Callable[[str], object] = print,
    ) -> None:
        self.relay = relay
        self.target = target
        self.lease = lease
        self._lease_check = lease_check
        self._kv_every = kv_every
        self._status_every = status_every
        self._say = say
        self.nc: NatsClient | None = None
        self._out: deque[tuple[str, bytes]] = deque(maxlen=BACKLOG)
        self._wake = asyncio.Event()
        self._latest: dict[SymbolKey, tuple[bytes, bytes]] = {}  # not yet in KV: record, frame
        self._clients: dict[str, Client] = {}  # NATS client id -> its client in the relay's book
        self._candles = CandleCloser(INTERVALS)
        self._tasks: list[asyncio.Task[None]] = []
        #: Changes with every start: subscribers seeing a new one register again at once.
        self.instance = secrets.token_hex(6)
        #: Messages published, and those that could not be (the server away too long).
        self.published = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"NatsPublisher({self.target.shown()})"

    async def start(self) -> None:
        """Connect, make the buckets if missing, answer control requests, publish from now on.
        Raises what nats-py raises when the server cannot be reached."""
        self.nc = await connect(
            self.target,
            name="quoteboard relay",
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            error_cb=self._error,
        )
        await self._ensure_buckets()
        for subject, handler in (
            (CTL_REGISTER, self._on_register),
            (CTL_UNREGISTER, self._on_unregister),
            (CTL_LEASE, self._on_lease),
            (CTL_POSITIONS, self._on_positions),
            (CTL_CANDLES, self._on_candles),
            (CTL_RANKING, self._on_ranking),
        ):
            await self.nc.subscribe(subject, cb=handler)
        await self.nc.flush()  # the server knows the subscriptions before anyone is told to ask
        self.relay.quotes.subscribe(self._on_quote)
        self._tasks = [
            asyncio.create_task(self._pump(), name="nats-publish"),
            asyncio.create_task(self._store_latest(), name="nats-kv"),
            asyncio.create_task(self._keep_status(), name="nats-status"),
            asyncio.create_task(self._keep_leases(), name="nats-leases"),
            asyncio.create_task(self._close_candles(), name="nats-candles"),
        ]
        self._say(
            f"publishing on NATS {self.target.shown()} (kabu.quote.>, kabu.frame.>, kabu.candle.>, "
            f"KV {QUOTES_BUCKET})"
        )

    async def aclose(self) -> None:
        self.relay.quotes.unsubscribe(self._on_quote)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.nc is not None:
            with contextlib.suppress(Exception):  # a server already gone: nothing left to flush
                await asyncio.wait_for(self.nc.close(), 5.0)
            self.nc = None

    async def _ensure_buckets(self) -> None:
        assert self.nc is not None
        js = self.nc.jetstream()
        for bucket in (QUOTES_BUCKET, RELAY_BUCKET):
            try:
                await js.key_value(bucket)
            except Exception:  # nats-py's BucketNotFoundError and kin: make it
                await js.create_key_value(bucket=bucket, history=1)

    # -- the connection --------------------------------------------------------------------------

    async def _disconnected(self) -> None:
        self._say(f"NATS {self.target.host_port}: disconnected; reconnecting")

    async def _reconnected(self) -> None:
        self._say(f"NATS {self.target.host_port}: reconnected")
        try:
            await self._ensure_buckets()  # a server that lost its store has no buckets
        except Exception as exc:
            self._say(f"NATS: cannot make the KV buckets: {exc}")
        self._wake.set()

    async def _error(self, exc: Exception) -> None:
        text = str(exc) or type(exc).__name__
        self._say(f"NATS {self.target.host_port}: {text}")

    # -- quotes ----------------------------------------------------------------------------------

    def _on_quote(self, quote: Quote, frame: bytes) -> None:
        key = quote.key
        record = encode_quote(quote)
        out = self._out
        out.append((quote_subject(key), record))
        out.append((frame_subject(key), frame))
        self._latest[key] = (record, frame)
        self._publish_candles(self._candles.add(quote))
        self._wake.set()

    def _publish_candles(self, closed: list[Closed]) -> None:
        for key, candle in closed:
            self._out.append((candle_subject(key, candle.interval), encode_candle(key, candle)))
        if closed:
            self._wake.set()

    async def _close_candles(self) -> None:
        while True:
            await asyncio.sleep(CANDLES_EVERY)
            self._publish_candles(self._candles.due())

    async def _pump(self) -> None:
        out, wake = self._out, self._wake
        while True:
            await wake.wait()
            wake.clear()
            nc = self.nc
            while out and nc is not None and not nc.is_closed:
                subject, data = out[0]
                try:
                    await nc.publish(subject, data)
                except Exception as exc:  # the outbound buffer is full while the server is away
                    self.failed += 1
                    if self.failed in (1, 100, 10_000):
                        self._say(f"NATS: cannot publish ({exc or type(exc).__name__}): {self.failed} lost")
                    await asyncio.sleep(0.2)
                    continue
                out.popleft()
                self.published += 1

    async def _store_latest(self) -> None:
        while True:
            await asyncio.sleep(self._kv_every)
            nc = self.nc
            if not self._latest or nc is None or not nc.is_connected:
                continue
            latest, self._latest = self._latest, {}
            for key, (record, frame) in latest.items():
                value = snapshot_value(record, frame)
                try:
                    await nc.publish(f"$KV.{QUOTES_BUCKET}.{kv_key(key)}", value)
                except Exception:
                    self._latest.setdefault(key, (record, frame))  # stored at the next turn
                    break

    async def _keep_status(self) -> None:
        """The status every ``status_every`` seconds, and within a tenth of one when it changes."""
        shown: tuple[object, ...] = ()
        at = 0.0
        while True:
            nc = self.nc
            book, status = self.relay.book, self.relay.feed.status
            now = (status.state, status.detail, len(book.union), len(book.clients), len(self._clients))
            if (
                nc is not None
                and nc.is_connected
                and (now != shown or time.monotonic() - at >= self._status_every)
            ):
                try:
                    await nc.publish(f"$KV.{RELAY_BUCKET}.{RELAY_STATUS_KEY}", self.status_json())
                    shown, at = now, time.monotonic()
                except Exception:  # said by the error callback; tried again at the next turn
                    shown = ()
            await asyncio.sleep(0.1)

    def status_json(self) -> bytes:
        """The relay's state for ``kabu_relay``: never a password, a token or an address."""
        relay, book = self.relay, self.relay.book
        status = relay.feed.status
        return _encoder.encode(
            {
                "upstream": status.state,  # the station's state, named as on /relay/status
                "since": jst_iso(status.since),
                "detail": " ".join(status.detail.split()),
                "symbols": len(book.union),
                "limit": book.limit,
                "clients": len(book.clients),
                "nats_clients": len(self._clients),
                "at": time.time(),
                "instance": self.instance,
                "every": self._status_every,
            }
        )

    # -- control requests ------------------------------------------------------------------------

    def _client(self, cid: str, *, join: bool) -> Client | None:
        client = self._clients.get(cid)
        if client is not None and self.relay.book.client(client.token) is None:
            del self._clients[cid]  # released by the relay meanwhile
            client = None
        if client is None and join:
            client = self.relay.book.join(f"nats {cid}", time.monotonic())
            self._clients[cid] = client
            self._say(f"NATS client {cid} joined as {client.id}")
        if client is not None:
            client.last_call = time.monotonic()
        return client

    async def _answer(self, msg: Msg, what: Callable[[_Request], Any]) -> None:
        """Decode ``msg``, run ``what``, reply with its answer or Kabu's error JSON."""
        try:
            try:
                request = msgspec.json.decode(msg.data, type=_Request)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise RelayError(4001011, str(exc)) from None
            if not request.client or len(request.client) > _MAX_ID:
                raise RelayError(4001011, f"client must be 1 to {_MAX_ID} characters")
            body = await what(request)
        except RelayError as exc:
            body = exc.answer.body()
        except TooManyClients as exc:
            body = error_answer(4001006, f"{exc}: try again when one has left").body()
        if msg.reply:
            with contextlib.suppress(Exception):  # the requester is gone: no one to tell
                await msg.respond(_encoder.encode(body))

    async def _on_register(self, msg: Msg) -> None:
        async def register(request: _Request) -> Any:
            client = self._client(request.client, join=True)
            assert client is not None
            await self.relay.add_symbols(client, _keys(request))
            return regist_list_body(client.symbols)

        await self._answer(msg, register)

    async def _on_unregister(self, msg: Msg) -> None:
        async def unregister(request: _Request) -> Any:
            client = self._client(request.client, join=False)
            if client is None:
                return {"RegistList": []}  # a client the relay does not know holds nothing
            await self.relay.remove_symbols(client, _keys(request))
            return regist_list_body(client.symbols)

        await self._answer(msg, unregister)

    async def _on_lease(self, msg: Msg) -> None:
        async def renew(request: _Request) -> Any:
            client = self._client(request.client, join=False)
            if client is None:
                raise RelayError(4001009, "unknown client (released, or the relay restarted): register again")
            return regist_list_body(client.symbols)

        await self._answer(msg, renew)

    async def _on_positions(self, msg: Msg) -> None:
        async def positions(request: _Request) -> Any:
            client = self._client(request.client, join=False)  # a read makes no new client
            relay = self.relay
            answer = await relay._upstream(client, lambda: relay.feed.rest.call("GET", _POSITIONS))
            return msgspec.Raw(answer.content)  # the station's answer as it came

        await self._answer(msg, positions)

    async def _on_candles(self, msg: Msg) -> None:
        """The candles of a symbol: a read of the relay's store, for anyone (no client is made)."""
        try:
            try:
                request = msgspec.json.decode(msg.data, type=_CandlesRequest)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise RelayError(4001011, str(exc)) from None
            key = SymbolKey(request.Symbol, request.Exchange)
            body: Any = await answer_candles(self.relay.history, key, request.interval, request.date)
        except RelayError as exc:
            body = exc.answer.body()
        if msg.reply:
            with contextlib.suppress(Exception):  # the requester is gone: no one to tell
                await msg.respond(_encoder.encode(body))

    async def _on_ranking(self, msg: Msg) -> None:
        async def ranking(request: _Request) -> Any:
            client = self._client(request.client, join=False)  # a read makes no new client
            body = await self.relay.cached.ranking_body(client, request.Type, request.ExchangeDivision)
            return msgspec.Raw(body)  # the station's answer as it came

        await self._answer(msg, ranking)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease_check)
            now = time.monotonic()
            for cid, client in list(self._clients.items()):
                if self.relay.book.client(client.token) is None:
                    del self._clients[cid]
                elif now - client.last_call >= self.lease:
                    del self._clients[cid]
                    await self.relay.release(
                        client, f"NATS client {cid}, no lease renewal for {self.lease:g} s"
                    )


def _keys(request: _Request) -> list[SymbolKey]:
    return [entry.key for entry in request.Symbols]
