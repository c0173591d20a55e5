"""Running the relay: in-process (:class:`RelayServer`, what the tests and the bench use) or in the
foreground for ``quoteboard relay`` (:func:`run_relay`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import urlsplit

from quoteboard.feeds.event_watch import EventWatch
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.feeds.source import FeedSource
from quoteboard.history.keeping import HistoryKeeper, HistoryOptions
from quoteboard.history.store import StoreCandles
from quoteboard.hosting import BindError, EmbeddedServer
from quoteboard.kabu.errors import KabuClientError
from quoteboard.kabu.net import is_loopback
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.app import RelayApp, Say
from quoteboard.relay.book import DEFAULT_LEASE, DEFAULT_MAX_CLIENTS, Book
from quoteboard.relay.fanout import BEHIND_LIMIT
from quoteboard.secret import Secret

if TYPE_CHECKING:
    from quoteboard.relay.publisher import NatsPublisher

__all__ = ["DEFAULT_PORT", "RelayServer", "RelayStartError", "run_relay"]

DEFAULT_PORT: Final = 18090


class RelayStartError(Exception):
    """The relay cannot start: said in one line."""


class RelayServer(EmbeddedServer):
    """``quoteboard relay`` on ``host:port`` in the running loop, with ``source`` upstream::

    async with RelayServer(FeedSource.kabu(url, password)) as relay:
        httpx.AsyncClient(base_url=relay.base_url) ...
    """

    dual_stack_loopback = True  # clients given http://localhost:18090 reach it on Windows (::1 first)

    def __init__(
        self,
        source: FeedSource,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        password: Secret | str | None = None,
        allow_orders: bool = False,
        lease: float = DEFAULT_LEASE,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        say: Say = print,
        lease_check: float = 1.0,
        behind_limit: float = BEHIND_LIMIT,
        nats: NatsTarget | None = None,
        nats_lease: float = 30.0,
        event_command: list[str] | None = None,
        history: HistoryOptions | None = None,
    ) -> None:
        super().__init__(host, port)
        if not is_loopback(host) and not password:
            raise RelayStartError(
                f"refusing to listen on {host} without --password: anyone on the network could use "
                "your station; give --password (clients then use it as their API password)"
            )
        if nats is not None and not nats.is_loopback and not nats.has_credentials:
            raise RelayStartError(
                f"refusing to publish to NATS on {nats.host_port} without credentials: anyone on the network "
                "could register symbols at your station; give nats://user:password@host or --nats-creds"
            )
        self.nats = nats
        self.nats_lease = nats_lease
        self.publisher: NatsPublisher | None = None
        self.source = source
        self.password = Secret.of(password) if password else None
        self.allow_orders = allow_orders
        self.book = Book(lease=lease, max_clients=max_clients)
        self._say = say
        self._lease_check = lease_check
        self._behind_limit = behind_limit
        self.feed: KabuFeed | None = None
        self.relay: RelayApp | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # --event-command: its failures are relay lines like any other.
        self.events = EventWatch(command=event_command, on_failure=say) if event_command else None
        # The relay holds the station's socket: it writes the tick store (its failure on stderr).
        self._keeper = HistoryKeeper(history, on_error=_to_stderr)
        #: The candles of the store this relay writes (None: --no-history).
        self.history: StoreCandles | None = None

    def __repr__(self) -> str:  # never a password
        return f"RelayServer({self.source!r}, {self.host}:{self.port})"

    @property
    def status_url(self) -> str:
        return f"http://{self._origin}/relay/status"

    async def __aenter__(self) -> Self:
        if not self.source.embedded and _same_place(self.source.base_url, self.host, self.port):
            raise RelayStartError(
                f"--kabu-url {self.source.base_url} is this relay itself: give the station's URL"
            )
        feed = self.feed = await self.source.start_kabu()
        if await feed.rest.relay_status() is not None:
            await feed.close()
            raise RelayStartError(
                f"--kabu-url {self.source.base_url} is a quoteboard relay, not a station: relays do not "
                "chain; point its clients at it instead"
            )
        feed.give_way = False  # the relay is the station's one client: it keeps the socket
        self.history = await self._keeper.keep(feed, self.source.kind)
        if self.events is not None:
            self.events.attach(feed)
        upstream_password = self.source.password if not self.source.embedded else None
        self.relay = RelayApp(
            feed,
            book=self.book,
            password=self.password,
            upstream_password=upstream_password,
            allow_orders=self.allow_orders,
            say=self._say,
            behind_limit=self._behind_limit,
        )
        self.asgi = self.relay.asgi
        self.relay.history = self.history  # what /relay/candles and kabu.ctl.candles read
        try:
            await feed.start()
        except KabuClientError as exc:
            if not exc.transient:  # a wrong password, the API off: no use relaying nothing
                await self._keeper.stop()
                await feed.close()
                raise RelayStartError(f"the station refused: {exc}") from None
            self._say(f"station: {exc}; retrying")
        try:
            await super().__aenter__()
        except BaseException:
            await self._keeper.stop()
            await feed.close()
            raise
        relay = self.relay
        if self.nats is not None:
            await self._publish(relay, self.nats)
        self._tasks = [
            asyncio.create_task(feed.run(), name="relay-upstream"),
            asyncio.create_task(relay.watch_sockets(), name="relay-slow-sockets"),
            asyncio.create_task(relay.keep_leases(self._lease_check), name="relay-leases"),
        ]
        return self

    async def _publish(self, relay: RelayApp, target: NatsTarget) -> None:
        from quoteboard.nats.link import NatsMissing, NatsUnavailable
        from quoteboard.relay.publisher import NatsPublisher

        publisher = NatsPublisher(
            relay, target, lease=self.nats_lease, lease_check=self._lease_check, say=self._say
        )
        try:
            await publisher.start()
        except (NatsMissing, NatsUnavailable) as exc:
            await publisher.aclose()
            await self._stop_early()
            raise RelayStartError(str(exc)) from None
        except Exception as exc:  # the KV buckets: JetStream is off, or the account may not use it
            await publisher.aclose()
            await self._stop_early()
            why = str(exc) or type(exc).__name__
            raise RelayStartError(
                f"NATS at {target.shown()}: no JetStream key-value store ({why}): start the server with "
                "`nats-server -js`"
            ) from None
        self.publisher = publisher

    async def _stop_early(self) -> None:
        await self._keeper.stop()
        await super().aclose()
        if self.feed is not None:
            await self.feed.close()
            self.feed = None

    async def aclose(self) -> None:
        if self.events is not None:
            await self.events.aclose(wait=False)
        if self.publisher is not None:
            await self.publisher.aclose()
            self.publisher = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._keeper.stop()
        await super().aclose()
        if self.feed is not None:
            await self.feed.close()
            self.feed = None


def _to_stderr(text: str) -> None:
    print(f"quoteboard relay: {text}", file=sys.stderr, flush=True)


def _same_place(base_url: str, host: str, port: int) -> bool:
    url = urlsplit(base_url)
    return port != 0 and url.port == port and is_loopback(url.hostname or "") and is_loopback(host)


def run_relay(source: FeedSource, *, say: Callable[[str], object] | None = None, **options: object) -> int:
    """``quoteboard relay`` in the foreground until Ctrl-C; the exit status. ``options`` go to
    :class:`RelayServer`."""

    def line(text: str) -> None:
        print(f"quoteboard relay: {text}", flush=True)

    async def main() -> None:
        async with RelayServer(source, say=say or line, **options) as relay:  # type: ignore[arg-type]
            upstream = source.base_url if not source.embedded else "the demo market"
            line(f"relaying {upstream} (Ctrl-C to stop)")
            line(f"clients: base URL {relay.base_url}, PUSH {relay.websocket_url}")
            if not is_loopback(relay.host):
                line(f"  (on {relay.host}: other machines use this one's address, port {relay.port})")
            line(f"status: {relay.status_url}")
            if relay.nats is not None:
                line(f"NATS: {relay.nats.shown()}: quotes on kabu.quote.>, control on kabu.ctl.>")
            await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except (RelayStartError, BindError) as exc:
        print(f"quoteboard relay: {exc.strerror if isinstance(exc, BindError) else exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
