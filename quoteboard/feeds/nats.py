"""A feed from NATS: the quotes a ``quoteboard relay --nats`` publishes, for the board and ``stream``.

:class:`NatsFeed` is a :class:`~quoteboard.feeds.contract.Feed`, so the board and ``stream`` take it
as they take a :class:`~quoteboard.feeds.kabu.KabuFeed`; it offers the positions the relay's station
holds (``kabu.ctl.positions``) and its rankings (``kabu.ctl.ranking``). It registers by request on
``kabu.ctl.register`` with a client id of its own, renews its lease on ``kabu.ctl.lease``, follows
``kabu.frame.<exchange>.<code>`` for each watched symbol and decodes the station's frames with the
same decoder as the Kabu feed. A symbol's first prices come from the ``kabu_quotes`` KV bucket.

Restarts: nats-py reconnects by itself and renews the subscriptions; the relay's status in
``kabu_relay`` (read every second) says whether a relay is live behind the server, and carries the
relay's instance, so a restarted relay (which knows no client) is told this client's symbols again at
once. Until quotes flow again the status is "connecting" (saying what is awaited), and the board
keeps its last values.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import msgspec

from quoteboard.feeds.base import BaseFeed
from quoteboard.feeds.contract import FeedStatus, Refusals, State
from quoteboard.feeds.kabu import backoff_delay
from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.positions import Position, parse_positions
from quoteboard.kabu.protocol import Quote, Rejection, SymbolKey, decode_frame
from quoteboard.kabu.ranking import Ranking, parse_ranking
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.nats.link import NatsTarget, NatsUnavailable, connect
from quoteboard.nats.wire import (
    CTL_LEASE,
    CTL_POSITIONS,
    CTL_RANKING,
    CTL_REGISTER,
    CTL_UNREGISTER,
    QUOTES_BUCKET,
    RELAY_BUCKET,
    RELAY_STATUS_KEY,
    control_body,
    decode_regist_list,
    decode_snapshot,
    frame_subject,
    kv_key,
    ranking_body,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

__all__ = ["LEASE_EVERY", "NatsFeed", "NatsUnreachable"]

#: Seconds between lease renewals (the relay releases a client silent for 30 s).
LEASE_EVERY: Final = 5.0
#: The relay's status is stale (the relay is gone) after this many of its refresh periods.
_STATUS_PERIODS: Final = 3.0
_UNKNOWN_CLIENT: Final = 4001009
#: The relay's station states that a subscriber shows as they are (the relay itself is fine).
_STATION_AWAY: Final[frozenset[State]] = frozenset(
    {"stalled", "reconnecting", "unreachable", "logged_out", "wrong_password", "taken"}
)
_decoder: Final = msgspec.json.Decoder()
_encoder: Final = msgspec.json.Encoder()


class NatsUnreachable(KabuClientError):
    """The NATS server, or a relay behind it, did not answer (transient: it may come back)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def transient(self) -> bool:
        return True


class NatsFeed(BaseFeed):
    """Quotes from a relay, through the NATS server at ``target``."""

    #: No pause between one-by-one registrations: the relay, not this client, calls the station.
    register_pace = 0.0

    def __init__(
        self,
        target: NatsTarget,
        *,
        max_symbols: int = DEFAULT_MAX_SYMBOLS,
        client_id: str | None = None,
        lease_every: float = LEASE_EVERY,
        check_every: float = 1.0,
        timeout: float = 3.0,
    ) -> None:
        super().__init__(f"nats {target.host_port}", max_symbols)
        self.target = target
        self.client_id = client_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.lease_every = lease_every
        self.check_every = check_every
        self.timeout = timeout
        #: The relay's latest status from ``kabu_relay`` (None: none seen).
        self.relay: dict[str, Any] | None = None
        self._nc: NatsClient | None = None
        self._subs: dict[SymbolKey, Subscription] = {}
        self._live_keys: set[SymbolKey] = set()  # got a live frame: no snapshot over it
        self._running = False
        self._wake = asyncio.Event()
        self._nats_up = False
        self._closed = False
        #: reconnect() asked for: the relay is told this client's symbols at the next turn.
        self._reregister = False

    def __repr__(self) -> str:
        return f"NatsFeed({self.target.shown()}, {self.registry!r})"

    # -- the connection ----------------------------------------------------------------------------

    async def _connect(self) -> NatsClient:
        if self._closed:
            raise NatsUnreachable("the NATS feed is closed")
        if self._nc is None:
            try:
                self._nc = await connect(
                    self.target,
                    name=f"quoteboard {self.client_id}",
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
            except NatsUnavailable as exc:
                raise NatsUnreachable(str(exc)) from None
            self._nats_up = True
            self.connections += 1
        return self._nc

    async def _disconnected(self) -> None:
        self._nats_up = False
        if self.status.state != "closed":
            self._report(FeedStatus("connecting", f"NATS {self.target.host_port} lost; reconnecting"))

    async def _reconnected(self) -> None:
        self._nats_up = True
        self.connections += 1
        self._wake.set()  # renew the lease and check the relay now

    async def _error(self, exc: Exception) -> None:
        """nats-py's reconnect loop says each failed attempt here: the status says it once."""

    async def _request(self, subject: str, body: dict[str, Any]) -> dict[str, Any]:
        """Ask the relay; its answer, or :class:`KabuError` with its code, or :class:`NatsUnreachable`."""
        return _object(subject, await self._ask(subject, body))

    async def ask(self, subject: str, body: dict[str, Any]) -> bytes:
        """A request to the relay (``kabu.ctl.candles``, say): its answer as it came; raises
        :class:`NatsUnreachable` when none comes."""
        return await self._ask(subject, body)

    async def _ask(self, subject: str, body: dict[str, Any]) -> bytes:
        """The relay's answer on ``subject``, as it came; :class:`NatsUnreachable` if none."""
        nc = await self._connect()
        try:
            msg = await nc.request(subject, _encoder.encode(body), timeout=self.timeout)
        except Exception as exc:  # nats-py's TimeoutError, NoRespondersError, a closed connection
            why = str(exc) or type(exc).__name__
            raise NatsUnreachable(
                f"no relay answered on {subject} at {self.target.host_port} ({why}): is "
                "`quoteboard relay --nats` running?"
            ) from None
        data: bytes = msg.data
        return data

    def _body(self, keys: Iterable[SymbolKey]) -> dict[str, Any]:
        return control_body(self.client_id, keys)

    # -- registering -------------------------------------------------------------------------------

    async def start(self) -> Refusals:
        """Connect and register the watched symbols; raises :class:`NatsUnreachable` (no server, no
        relay) or :class:`KabuError`; returns the symbols the relay refused (no longer watched)."""
        await self._connect()
        await self._follow(self.registry.watched)
        return await self._register_watch()

    async def _refused_one(self, key: SymbolKey) -> None:
        await self._unfollow([key])

    async def _register(self, keys: list[SymbolKey]) -> list[SymbolKey]:
        self.registry.check_room(keys)
        registered = _regist_list(await self._request(CTL_REGISTER, self._body(keys)))
        self.registry.station_lists(registered)
        return registered

    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Register ``keys`` at the relay; on a transient failure they stay watched (registered
        when the relay answers again) and the error is raised; a refusal watches nothing."""
        keys = list(keys)
        try:
            await self._register(keys)
        except KabuClientError as exc:
            if exc.transient:
                self.registry.watch(keys)
                await self._follow(keys)
                self._wake.set()
            raise
        self.registry.watch(keys)
        await self._follow(keys)
        return self.registry.registered

    async def unregister(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        keys = list(keys)
        self.registry.unwatch(keys)
        await self._unfollow(keys)
        answer = await self._request(CTL_UNREGISTER, self._body(keys))
        self.registry.station_lists(_regist_list(answer))
        return self.registry.registered

    # -- quotes ----------------------------------------------------------------------------------

    async def _follow(self, keys: Iterable[SymbolKey]) -> None:
        nc = await self._connect()
        new = [key for key in keys if key not in self._subs]
        for key in new:
            self._subs[key] = await nc.subscribe(frame_subject(key), cb=self._on_msg)
        if new:
            with contextlib.suppress(Exception):  # away: nats-py subscribes again on reconnecting
                await nc.flush(timeout=max(1, round(self.timeout)))  # following before the relay is asked

    async def _unfollow(self, keys: Iterable[SymbolKey]) -> None:
        for key in keys:
            sub = self._subs.pop(key, None)
            self._live_keys.discard(key)
            if sub is not None:
                with contextlib.suppress(Exception):  # the connection is gone: so is the interest
                    await sub.unsubscribe()

    async def _on_msg(self, msg: Msg) -> None:
        if not self._running:
            return  # the snapshot at run() comes first
        now = time.time()
        frame = msg.data
        self.received += 1
        self.events.frame.publish(frame, now)
        result = decode_frame(frame, now)
        if isinstance(result, Rejection):
            self.rejected += 1
            self.events.reject.publish(result)
            return
        self._live_keys.add(result.key)
        if self.status.state != "live" and self._relay_live():
            self._report(FeedStatus("live", "relay live"))
        self.events.quote.publish(result)

    async def fetch_boards(
        self, keys: Iterable[SymbolKey], on_quote: Callable[[Quote], object], per_second: float = 0.0
    ) -> list[tuple[SymbolKey, KabuClientError]]:
        """The latest quote of each key from the ``kabu_quotes`` bucket (a key the relay has no
        quote for yet is skipped); returns the keys that failed with their errors."""
        failures: list[tuple[SymbolKey, KabuClientError]] = []
        try:
            kv = await (await self._connect()).jetstream().key_value(QUOTES_BUCKET)
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, KabuClientError)
                else NatsUnreachable(f"no {QUOTES_BUCKET} bucket: {exc}")
            )
            return [(key, error) for key in keys]
        for key in keys:
            try:
                entry = await kv.get(kv_key(key))
            except Exception as exc:  # nats-py's KeyNotFoundError (nothing yet) or a lost connection
                if type(exc).__name__ not in ("KeyNotFoundError", "KeyDeletedError"):
                    failures.append((key, NatsUnreachable(f"snapshot of {key}: {exc or type(exc).__name__}")))
                continue
            quote = decode_snapshot(entry.value or b"")
            if quote is not None:
                on_quote(quote)
        return failures

    async def _snapshot(self, keys: list[SymbolKey]) -> None:
        """What the relay last stored for ``keys`` that no live quote has overtaken, to the quote event."""

        def fresh_only(quote: Quote) -> None:
            if quote.key not in self._live_keys:
                self.events.quote.publish(quote)

        await self.fetch_boards(keys, fresh_only)

    # -- running -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """The snapshot, then live quotes until cancelled; the lease renewed, the relay watched."""
        self._report(FeedStatus("connecting", f"NATS {self.target.host_port}"))
        attempt = 0
        while self._nc is None:  # the server was away at start (nats-py reconnects once connected)
            try:
                await self._connect()
            except NatsUnreachable as exc:
                if self._closed:
                    return
                attempt += 1
                delay = backoff_delay(attempt)
                self._report(FeedStatus("reconnecting", str(exc), attempt, delay))
                await asyncio.sleep(delay)
        await self._read_relay()
        self._report_relay()
        self._running = True
        with contextlib.suppress(KabuClientError):
            await self._snapshot(self.registry.watched)
        instance = None
        renewed = time.monotonic()
        while self.status.state != "closed":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.check_every)
            woken = self._wake.is_set()
            self._wake.clear()
            if self._closed:
                return
            if not self._nats_up:
                continue
            await self._read_relay()
            now_instance = self.relay.get("instance") if self.relay else None
            # A new relay (restarted: it knows no client), or the first one seen while symbols wait
            # to be registered (none answered at start): tell it this client's symbols at once.
            restarted = now_instance is not None and now_instance != instance
            restarted = restarted and (instance is not None or bool(self.registry.missing()))
            restarted, self._reregister = restarted or self._reregister, False
            instance = now_instance or instance
            if restarted or woken or time.monotonic() - renewed >= self.lease_every:
                renewed = time.monotonic()
                await self._renew(restarted)
            self._report_relay()

    async def _read_relay(self) -> None:
        try:
            kv = await (await self._connect()).jetstream().key_value(RELAY_BUCKET)
            entry = await kv.get(RELAY_STATUS_KEY)
            value = _decoder.decode(entry.value or b"{}")
            self.relay = value if isinstance(value, dict) else None
        except Exception:  # no relay has ever run on this server, or the connection dropped
            self.relay = None

    def _relay_live(self) -> bool:
        relay = self.relay
        if relay is None:
            return False
        age = time.time() - float(relay.get("at", 0))
        return relay.get("upstream") == "live" and age <= _STATUS_PERIODS * float(relay.get("every", 1.0)) + 2

    def _report_relay(self) -> None:
        relay = self.relay
        if self._relay_live():
            status = FeedStatus("live", "relay live")
        elif relay is None:
            status = FeedStatus("connecting", "no relay publishes on this NATS server")
        elif relay.get("upstream") in _STATION_AWAY:
            # The relay's station is away: said in the station's own state, as a board behind the
            # relay's HTTP API says it, with the relay's one-line detail.
            state = relay["upstream"]
            detail = str(relay.get("detail") or "")
            status = FeedStatus(state, f"at the relay{': ' + detail if detail else ''}")
        elif relay.get("upstream") != "live":
            status = FeedStatus("connecting", f"relay's station: {relay.get('upstream')}")
        else:
            status = FeedStatus("connecting", "the relay is silent (stopped?)")
        if status != self.status:
            self._report(status)

    async def _renew(self, restarted: bool) -> None:
        """Renew the lease; a relay that does not know this client (restarted, or it released us)
        is told the watched symbols again, and their snapshots follow."""
        watched = self.registry.watched
        if not watched:
            return
        try:
            if not restarted:
                await self._request(CTL_LEASE, {"client": self.client_id})
                return
        except KabuError as exc:
            if exc.code != _UNKNOWN_CLIENT:
                return
        except NatsUnreachable:
            return
        try:
            await self._register_watch()
        except KabuClientError:
            return  # asked again at the next renewal
        self._live_keys.clear()
        self.events.registered.publish(watched)
        await self._snapshot(watched)

    async def positions(self) -> list[Position]:
        """What ``GET /positions`` of the relay's station answers, asked on ``kabu.ctl.positions``."""
        data = await self._ask(CTL_POSITIONS, {"client": self.client_id})
        if data.lstrip()[:1] == b"{":  # Kabu's error object, where the station's list would be
            _object(CTL_POSITIONS, data)
        try:
            return parse_positions(data)
        except ValueError as exc:
            raise NatsUnreachable(f"unreadable positions answer on {CTL_POSITIONS}: {exc}") from None

    async def ranking(self, type_number: int, division: str) -> Ranking:
        """What ``GET /ranking`` of the relay's station answers (the relay's 30 s cache), asked on
        ``kabu.ctl.ranking``."""
        data = await self._ask(CTL_RANKING, ranking_body(self.client_id, type_number, division))
        _object(CTL_RANKING, data)  # Kabu's error object raised as KabuError
        try:
            return parse_ranking(data, type_number, division)
        except ValueError as exc:
            raise NatsUnreachable(f"unreadable ranking answer on {CTL_RANKING}: {exc}") from None

    def reconnect(self) -> None:
        """Tell the relay this client's symbols again now (nats-py reconnects the server by itself)."""
        self._reregister = True
        self._wake.set()

    async def close(self) -> None:
        """Let the relay know this client's symbols are free (else they wait for the lease), and
        close the connection."""
        watched = self.registry.watched
        if watched and self._nc is not None and self._nats_up and not self._closed:
            with contextlib.suppress(KabuClientError, TimeoutError):
                await asyncio.wait_for(self._request(CTL_UNREGISTER, self._body(watched)), 1.0)
        self._report_closed()
        nc, self._nc = self._nc, None
        self._subs.clear()
        if nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 3.0)

    def _report_closed(self) -> None:
        self._closed = True
        self.status = FeedStatus("closed")
        self._wake.set()


def _object(subject: str, data: bytes) -> dict[str, Any]:
    """The relay's answer as a JSON object; Kabu's error object raised as :class:`KabuError`."""
    try:
        answer = _decoder.decode(data)
    except msgspec.DecodeError:
        raise NatsUnreachable(f"the answer on {subject} is not JSON") from None
    if not isinstance(answer, dict):
        raise NatsUnreachable(f"the answer on {subject} is not a JSON object")
    if "Code" in answer:
        raise KabuError(answer.get("Code"), str(answer.get("Message", "")))
    return answer


def _regist_list(answer: dict[str, Any]) -> list[SymbolKey]:
    try:
        return decode_regist_list(answer)
    except ValueError as exc:
        raise NatsUnreachable(str(exc)) from None
